/**
 * Detection and advice driven by /proc/cpuinfo files captured from real qemu guests
 * (test/fixtures/cpuinfo/capture.sh) and from this host.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { advise } from '../../../src/cpu/advice.js';
import { parseCpuinfo } from '../../../src/cpu/cpuinfo.js';
import { FLAGS } from '../../../src/cpu/flags.js';
import { judge } from '../../../src/cpu/verdict.js';
import { ROOT } from '../../helpers/cli.js';

const FIXTURES = join(ROOT, 'test/fixtures/cpuinfo');
const read = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** The flags line of the first processor, read independently of the parser. */
function rawFlags(text: string): Set<string> {
  const line = text.split('\n').find((l) => l.startsWith('flags')) ?? '';
  return new Set(line.replace(/^flags\s*:\s*/, '').split(/\s+/));
}
const BASELINE = FLAGS.filter((f) => f.tier === 'baseline');
const label = (n: string) => FLAGS.find((f) => f.name === n)?.label ?? n;

function analyse(name: string) {
  const text = read(name);
  const facts = parseCpuinfo(text);
  const verdict = judge(facts);
  const advice = advise({ facts, verdict, throughput: [], rootfsBytes: 840e6 });
  const expectedMissing = BASELINE.filter((f) => !rawFlags(text).has(f.name)).map((f) => f.name);
  return { text, facts, verdict, advice, expectedMissing };
}

describe.each([
  ['qemu64.txt', 'qemu64', 'QEMU Virtual CPU version 2.5+'],
  ['kvm64.txt', 'kvm64', 'Common KVM processor'],
])('generic guest CPU %s', (file, id, model) => {
  const { facts, verdict, advice, expectedMissing } = analyse(file);

  it('detects the model and the hypervisor', () => {
    expect(facts.model).toBe(model);
    expect(facts.hypervisor.present).toBe(true);
    expect(facts.hypervisor.vendor).toBe('QEMU/KVM');
    expect(facts.logicalCpus).toBe(2);
  });

  it('warns with the generic model and names exactly the missing baseline flags', () => {
    expect(verdict.status).toBe('generic-model');
    expect(verdict.warn).toBe(true);
    expect(verdict.genericModel).toBe(id);
    expect(verdict.missing).toEqual(expectedMissing);
    // What the compressors need most is among them on these models.
    for (const f of ['sse4_2', 'pclmulqdq', 'avx', 'avx2', 'bmi1', 'bmi2'])
      expect(verdict.missing).toContain(f);
    expect(verdict.level).toBe(1);
  });

  it('advises host-passthrough and names the missing flags', () => {
    const a = advice.find((x) => x.topic === 'cpu-model');
    expect(a?.severity).toBe('warning');
    for (const f of expectedMissing) expect(a?.message).toContain(label(f));
    expect(a?.missingFlags?.map((m) => m.flag)).toEqual(expectedMissing);
    const settings = (a?.fixes ?? []).map((f) => f.setting);
    expect(settings[0]).toBe("<cpu mode='host-passthrough' check='none'/>");
    expect(settings).toContain('-accel kvm -cpu host');
    expect(settings).toContain('VBoxManage modifyvm NAME --cpu-profile host');
    expect(settings.some((s) => s.includes('CompatibilityForMigrationEnabled $false'))).toBe(true);
    // Each fix points at its steps in docs/doctor.md; no estimated cost is given as a figure.
    for (const f of a?.fixes ?? []) expect(f.how).toContain('docs/doctor.md');
    expect(a).not.toHaveProperty('costs');
  });
});

describe('TCG guest with -cpu max', () => {
  const { facts, verdict, advice, expectedMissing } = analyse('max.txt');
  it('has the flags but is emulated, and says so', () => {
    expect(facts.model).toMatch(/^QEMU TCG CPU/);
    expect(expectedMissing).toEqual([]);
    expect(verdict.status).toBe('emulated');
    expect(verdict.warn).toBe(true);
    expect(verdict.level).toBe(3);
    expect(advice.find((a) => a.topic === 'emulation')?.message).toMatch(/Enable KVM/);
  });
});

describe('guest with a named model (-cpu Haswell)', () => {
  const { facts, verdict, advice, expectedMissing } = analyse('haswell.txt');
  it('raises no alarm: the compressors have their flags', () => {
    expect(facts.model).toContain('Haswell');
    expect(expectedMissing).toEqual([]);
    expect(verdict.status).toBe('good');
    expect(verdict.warn).toBe(false);
    expect(verdict.namedModel).toBe(true);
    expect(advice.filter((a) => a.severity === 'warning')).toEqual([]);
    // Only a note that newer features (here SHA) stay hidden.
    expect(advice.find((a) => a.topic === 'cpu-model')?.message).toContain('SHA');
  });
});

describe('this host (test/fixtures/cpuinfo/host.txt)', () => {
  const { text, facts, verdict, advice, expectedMissing } = analyse('host.txt');
  it('judges it by what the file shows: no false alarm when the baseline flags are there', () => {
    const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1]?.trim();
    expect(facts.model).toBe(model);
    expect(facts.hypervisor.present).toBe(rawFlags(text).has('hypervisor'));
    expect(verdict.missing).toEqual(expectedMissing);
    if (expectedMissing.length === 0) {
      expect(verdict.status).toBe('good');
      expect(advice.filter((a) => a.severity === 'warning')).toEqual([]);
    } else {
      expect(verdict.warn).toBe(true);
    }
    // The captured host has AVX2 and BMI2 (AMD EPYC under KVM): the expectation above is not vacuous.
    expect(rawFlags(text).has('avx2')).toBe(true);
  });
});

describe('parseCpuinfo', () => {
  it('keeps only flags every processor reports, and counts processors', () => {
    const text =
      'processor : 0\nmodel name : X\nflags : avx avx2 hypervisor\n\nprocessor : 1\nmodel name : X\nflags : avx hypervisor\n';
    const f = parseCpuinfo(text);
    expect(f.flags).toEqual(['avx']);
    expect(f.logicalCpus).toBe(2);
    expect(f.hypervisor).toEqual({ present: true, vendor: 'unknown' });
  });
  it('rejects a file without a flags line', () => {
    expect(() => parseCpuinfo('processor : 0\nIsa : rv64imafdc\n')).toThrow(/no "flags" line/);
  });
  it('calls bare metal without the hypervisor flag an old CPU, not a hidden one', () => {
    const v = judge(
      parseCpuinfo(
        'processor : 0\nmodel name : Old Xeon\nflags : sse sse2 pni ssse3 sse4_1 sse4_2 popcnt cx16 lahf_lm\n',
      ),
    );
    expect(v.status).toBe('cpu-lacks-flags');
    expect(v.missing).toContain('avx2');
    expect(v.level).toBe(2);
  });
  it('calls a named CPU under a hypervisor with hidden AVX a hidden-flags case (EVC, compatibility mode)', () => {
    const v = judge(
      parseCpuinfo(
        'processor : 0\nmodel name : Intel(R) Xeon(R) Gold 6230\nflags : sse sse2 pni ssse3 sse4_1 sse4_2 popcnt cx16 lahf_lm hypervisor\n',
      ),
    );
    expect(v.status).toBe('hidden-flags');
    expect(v.summary).toContain('AVX2');
  });
});
