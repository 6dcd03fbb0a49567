/** `doctor --json` on this machine: real CPUID, real /proc/cpuinfo, real compressors, real Docker and qemu. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCpuinfo } from '../../../src/cpu/cpuinfo.js';
import { native } from '../../../src/squashfs/native.js';
import { ROOT, runCli } from '../../helpers/cli.js';
import { validate } from '../../unit/doctor/json-schema.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'docs/doctor.schema.json'), 'utf8'));

interface T {
  compressor: string;
  level: number;
  status: string;
  singleMBps?: number;
  allMBps?: number;
  ratio?: number;
  workers?: number;
}

describe('doctor --json on this machine', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the parsed report is checked against the schema first
  let report: any;
  let status: number | null;
  beforeAll(() => {
    const r = runCli(['doctor', '--json', '--quick'], {
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    });
    status = r.status;
    if (r.status !== 0) throw new Error(`doctor exited ${r.status}: ${r.stderr}`);
    report = JSON.parse(r.stdout);
  }, 180_000);

  it('exits 0 and validates against docs/doctor.schema.json', () => {
    expect(status).toBe(0);
    expect(validate(report, schema)).toEqual([]);
    expect(report.mode).toBe('host');
  });

  // A VM restored on another host shows live CPUID that differs from what its kernel read at boot (unit
  // test doctor/cpuid): the report is checked against the two sources, not for their agreement.
  it('reports the model, hypervisor and flags from CPUID, naming each flag /proc/cpuinfo differs on', () => {
    const file = parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
    expect(report.crossCheck.sources).toEqual(['cpuid', 'cpuinfo']);
    expect(report.cpu.source).toBe('cpuid');
    expect(report.cpu.model.length).toBeGreaterThan(0);
    expect(report.cpu.hypervisor.present).toBe(file.hypervisor.present);
    if (file.hypervisor.present) expect(report.cpu.hypervisor.signature.length).toBeGreaterThan(0);
    const live = new Set<string>(report.cpu.flags);
    const boot = new Set(file.flags);
    const differ = [...new Set([...live, ...boot])].filter((f) => live.has(f) !== boot.has(f)).sort();
    const named = report.crossCheck.disagreements.map((d: { flag: string }) => d.flag).sort();
    expect(named).toEqual(differ);
    const baselineMissing = report.flags.filter(
      (f: { tier: string; present: boolean }) => f.tier === 'baseline' && !f.present,
    );
    expect(report.verdict.warn).toBe(baselineMissing.length > 0);
  });

  it('has throughput for every compressor: measured, or pending only while the addon lacks compressors', () => {
    const addonHasCompressors =
      typeof (native() as unknown as { BlockCompressor?: unknown }).BlockCompressor === 'function';
    for (const c of ['zstd', 'gzip', 'xz', 'lz4']) {
      const rows = (report.throughput as T[]).filter((t) => t.compressor === c);
      expect(rows.length, c).toBeGreaterThan(0);
      for (const t of rows) {
        if (t.status === 'pending') {
          expect(addonHasCompressors, `${c} pending although the addon has BlockCompressor`).toBe(false);
          expect(['xz', 'lz4']).toContain(c);
          continue;
        }
        expect(t.status, `${c} ${t.level}`).toBe('measured');
        expect(t.singleMBps).toBeGreaterThan(0);
        expect(t.allMBps).toBeGreaterThan(0);
        expect(t.workers).toBeGreaterThanOrEqual(1);
        expect(t.ratio).toBeGreaterThan(0);
        expect(t.ratio).toBeLessThan(1);
      }
    }
    // A higher zstd level compresses the sample better.
    const z3 = (report.throughput as T[]).find((t) => t.compressor === 'zstd' && t.level === 3);
    const z15 = (report.throughput as T[]).find((t) => t.compressor === 'zstd' && t.level === 15);
    expect(z15?.ratio).toBeLessThan(z3?.ratio ?? 0);
    expect(report.estimates.length).toBeGreaterThan(0);
    expect(report.advice.some((a: { topic: string }) => a.topic === 'compressor')).toBe(true);
  });

  it('checks the environment the other commands need', () => {
    const byId = new Map<string, { status: string; detail: string }>(
      report.environment.map((p: { id: string; status: string; detail: string }) => [p.id, p]),
    );
    expect(byId.get('docker')?.status).toBe('ok');
    for (const id of [
      'tool:ansible-playbook',
      'tool:mmdebstrap',
      'tool:xorriso',
      'tool:qemu-system-x86_64',
      'grub:i386-pc',
      'grub:x86_64-efi',
      'ovmf',
    ])
      expect(byId.get(id)?.status, id).toBe('ok');
    const kvm = byId.get('kvm');
    expect(['ok', 'warn']).toContain(kvm?.status);
    if (kvm?.status === 'warn') expect(kvm.detail).toContain('TCG');
    expect(byId.get('disk')?.detail).toMatch(/GB free/);
  });
});
