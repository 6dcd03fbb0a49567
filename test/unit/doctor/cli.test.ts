import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../../helpers/cli.js';
import { validate } from './json-schema.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'docs/doctor.schema.json'), 'utf8'));
const fixture = (n: string) => join(ROOT, 'test/fixtures/cpuinfo', n);

describe('image-builder doctor --cpuinfo', () => {
  it('reports a generic guest as JSON that validates against the schema, and exits 0', () => {
    const r = runCli(['doctor', '--cpuinfo', fixture('kvm64.txt'), '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(validate(report, schema)).toEqual([]);
    expect(report.mode).toBe('file');
    expect(report.cpu.model).toBe('Common KVM processor');
    expect(report.verdict.status).toBe('generic-model');
    // Another machine's CPU: nothing measured or probed here.
    expect(report.throughput).toEqual([]);
    expect(report.environment).toEqual([]);
    expect(report.flags.find((f: { name: string }) => f.name === 'avx2').present).toBe(false);
  });

  it('prints the advice for humans', () => {
    const r = runCli(['doctor', '--cpuinfo', fixture('qemu64.txt')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Verdict: WARNING');
    expect(r.stdout).toContain("<cpu mode='host-passthrough' check='none'/>");
    expect(r.stdout).toMatch(/MISSING .*AVX2/);
  });

  it('exits 2 naming the file when it cannot be read or is not a cpuinfo', () => {
    const missing = join(tmpdir(), 'no-such-cpuinfo.txt');
    const r = runCli(['doctor', '--cpuinfo', missing]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--cpuinfo ${missing}: cannot read (ENOENT)`);
    const arm = join(tmpdir(), `doctor-arm-cpuinfo-${process.pid}.txt`);
    writeFileSync(arm, 'processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\n');
    const r2 = runCli(['doctor', '--cpuinfo', arm]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain('not an x86 /proc/cpuinfo');
  });

  it('exits 2 on a bad --budget or --rootfs-size', () => {
    const r = runCli(['doctor', '--cpuinfo', fixture('host.txt'), '--budget', 'soon']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('option --budget: expected a positive number, got "soon"');
    expect(runCli(['doctor', '--cpuinfo', fixture('host.txt'), '--rootfs-size', '-3']).status).toBe(2);
  });
});
