import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuidReader, thisHostCpu } from '../../../src/api/cpu-verdict.js';
import { type CpuidReader, decodeCpuid } from '../../../src/cpu/cpuid.js';
import { parseCpuinfo } from '../../../src/cpu/cpuinfo.js';
import { hypervisorVendor } from '../../../src/cpu/facts.js';
import { compareFlags } from '../../../src/cpu/host.js';

function regs(s: string): [number, number, number] {
  const b = Buffer.from(s.padEnd(12, '\0'), 'latin1');
  return [b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8)];
}

/** A CPU described by leaves, as the addon would return them. */
function fakeReader(
  leaves: Record<string, [number, number, number, number]>,
  xcr0: [number, number] | null,
): CpuidReader {
  return {
    cpuid: (leaf, sub = 0) =>
      leaves[`${leaf.toString(16)}:${sub}`] ?? leaves[leaf.toString(16)] ?? [0, 0, 0, 0],
    xgetbv: () => xcr0,
  };
}

const [vb, vd, vc] = regs('GenuineIntel');
/** The three brand-string leaves (0x80000002–4) for a name of up to 48 characters. */
function brandLeaves(name: string): [number, number, number, number][] {
  const b = Buffer.from(name.padEnd(48, '\0'), 'latin1');
  return [0, 1, 2].map(
    (i) => [0, 1, 2, 3].map((r) => b.readUInt32LE(i * 16 + r * 4)) as [number, number, number, number],
  );
}
const brand = brandLeaves('  Test CPU with AVX2 and BMI2');
const [hb, hc, hd] = regs('KVMKVMKVM');
const AVX_CPU = {
  '0': [7, vb, vc, vd],
  // family 6 model 0x55: ext model 5, model 5; ECX: sse4_2 (20), pclmulqdq (1), osxsave (27), avx (28), hypervisor (31)
  '1': [0x50655, 0, (1 << 20) | (1 << 1) | (1 << 27) | (1 << 28) | (1 << 31), 0],
  // EBX: bmi1 (3), avx2 (5), bmi2 (8), avx512f (16)
  '7:0': [0, (1 << 3) | (1 << 5) | (1 << 8) | (1 << 16), 0, 0],
  '80000000': [0x80000004, 0, 0, 0],
  '80000002': brand[0],
  '80000003': brand[1],
  '80000004': brand[2],
  '40000000': [0x40000001, hb, hc, hd],
} as Record<string, [number, number, number, number]>;

describe('decodeCpuid', () => {
  it('decodes vendor, family/model, hypervisor signature and flags', () => {
    const f = decodeCpuid(fakeReader(AVX_CPU, [0xe7, 0]), 4);
    expect(f.vendor).toBe('GenuineIntel');
    expect(f.family).toBe(6);
    expect(f.modelNumber).toBe(0x55);
    expect(f.model).toBe('Test CPU with AVX2 and BMI2');
    expect(f.hypervisor).toEqual({ present: true, signature: 'KVMKVMKVM', vendor: 'KVM' });
    expect(f.flags).toEqual(
      expect.arrayContaining(['sse4_2', 'pclmulqdq', 'avx', 'avx2', 'bmi1', 'bmi2', 'avx512f']),
    );
    expect(f.flags).not.toContain('sha_ni');
    expect(f.logicalCpus).toBe(4);
  });

  it('drops vector flags the OS has not enabled (XCR0), as the kernel does', () => {
    const noAvx512 = decodeCpuid(fakeReader(AVX_CPU, [0x7, 0]), 1);
    expect(noAvx512.flags).toContain('avx2');
    expect(noAvx512.flags).not.toContain('avx512f');
    const noXsave = decodeCpuid(fakeReader(AVX_CPU, null), 1);
    expect(noXsave.flags).not.toContain('avx');
    expect(noXsave.flags).not.toContain('avx2');
    expect(noXsave.flags).toContain('bmi2');
  });

  it('names the common hypervisor signatures', () => {
    expect(hypervisorVendor('Microsoft Hv')).toBe('Microsoft Hyper-V');
    expect(hypervisorVendor('VMwareVMware')).toBe('VMware');
    expect(hypervisorVendor('VBoxVBoxVBox')).toBe('VirtualBox');
    expect(hypervisorVendor('TCGTCGTCGTCG')).toBe('QEMU (TCG)');
    expect(hypervisorVendor('')).toBe('unknown');
  });

  it('reports disagreements between the two sources', () => {
    const a = decodeCpuid(fakeReader(AVX_CPU, [0xe7, 0]), 1);
    const b = parseCpuinfo('processor : 0\nflags : sse4_2 pclmulqdq avx avx2 bmi1 bmi2 hypervisor\n');
    expect(compareFlags(a, b)).toEqual([{ flag: 'avx512f', cpuid: true, cpuinfo: false }]);
  });
});

describe('CPUID on this host through the addon', () => {
  // The kernel reads CPUID once at boot; a VM restored or migrated onto another host may since show a
  // different brand string and flags (seen here: "AMD EPYC" at boot, "Oxide Virtual Turin-like Processor"
  // live, abm only live). So the sources need not agree: doctor must read CPUID itself and name every
  // flag on which they differ.
  it('reads the live CPUID and names exactly the flags on which /proc/cpuinfo differs', () => {
    const reader = cpuidReader();
    expect(typeof reader).not.toBe('string');
    const h = thisHostCpu();
    expect(h.cpuid?.source).toBe('cpuid');
    const fromFile = parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
    expect(h.cpuid?.vendor).toBe(fromFile.vendor);
    expect(h.cpuid?.model).toMatch(/\S/);
    expect(h.cpuid?.family).toBe(fromFile.family);
    expect(h.cpuid?.hypervisor.present).toBe(fromFile.hypervisor.present);
    const live = new Set(h.cpuid?.flags);
    const boot = new Set(fromFile.flags);
    const differ = [...new Set([...live, ...boot])].filter((f) => live.has(f) !== boot.has(f)).sort();
    expect(h.disagreements.map((d) => d.flag).sort()).toEqual(differ);
    for (const d of h.disagreements)
      expect([d.cpuid, d.cpuinfo]).toEqual([live.has(d.flag), boot.has(d.flag)]);
  });
});
