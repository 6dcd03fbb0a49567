/**
 * The one KVM probe: its test guest is sound, and doctor reports the verdict the boot tests recorded (a Linux
 * kernel booted, or not, under KVM), so the two never disagree.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guestRuns, kvmVerdict, probeKvm } from '../../../src/engine/probe-kvm.js';

const dir = mkdtempSync(join(tmpdir(), 'aib-kvm-verdict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('KVM probe guest', () => {
  it('runs to its exit port under TCG, so a KVM failure is KVM, not the probe', async () => {
    expect(await guestRuns('tcg', 30_000)).toBe(true);
  });
  it('reports why when the accelerator cannot run it', async () => {
    const r = await guestRuns('tcg', 1);
    expect(r).not.toBe(true);
    expect(String(r)).toMatch(/timed out|killed|exited/);
  });
});

// The device is a stand-in file here, so both cases run on any host: this VM has a /dev/kvm that cannot boot a
// kernel; the CI machine has none at all.
describe('doctor and the boot tests agree', () => {
  const device = join(dir, 'kvm');
  writeFileSync(device, '');
  const record = (accel: 'kvm' | 'tcg') =>
    writeFileSync(
      join(dir, 'kvm-verdict.json'),
      JSON.stringify({ key: `${hostname()} ${release()}`, accel, probedAt: '2026-01-02T03:04:05.000Z' }),
    );

  it('the boot tests fell back to TCG: doctor warns, naming the kernel boot', async () => {
    record('tcg');
    expect(await kvmVerdict(dir, null, device)).toBe('tcg');
    const p = await probeKvm({ cacheDir: dir, device });
    expect(p.status).toBe('warn');
    expect(p.detail).toBe(
      `${device} exists but a Linux kernel did not boot under KVM (boot-test probe, 2026-01-02T03:04:05.000Z): boot tests fall back to TCG (works, several times slower)`,
    );
  });

  it('the boot tests booted a kernel under KVM: doctor says ok', async () => {
    record('kvm');
    expect(await kvmVerdict(dir, null, device)).toBe('kvm');
    const p = await probeKvm({ cacheDir: dir, device });
    expect(p).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('a Linux kernel booted under KVM'),
    });
  });

  it('without the device both say TCG, whatever verdict was recorded', async () => {
    record('kvm');
    const gone = join(dir, 'no-such-kvm');
    expect(await kvmVerdict(dir, null, gone)).toBe('tcg');
    const p = await probeKvm({ cacheDir: dir, device: gone });
    expect(p).toMatchObject({
      status: 'warn',
      detail: `${gone} does not exist: boot tests fall back to TCG (works, several times slower)`,
    });
  });

  it('a verdict for another host or kernel is not used', async () => {
    writeFileSync(join(dir, 'kvm-verdict.json'), JSON.stringify({ key: 'elsewhere 1.0', accel: 'kvm' }));
    expect(await kvmVerdict(dir, null, device)).toBe('tcg');
    const p = await probeKvm({ cacheDir: dir, timeoutMs: 3000, kernel: null, device });
    // Without a verdict doctor runs its guest under -cpu host, as the boot tests would.
    expect(p.detail).not.toContain('boot-test probe');
    expect(p.detail).toMatch(/-cpu host/);
    // A boot sector is no proof a kernel boots: without one, boot tests use TCG, and doctor says so.
    expect(p.status).toBe('warn');
    expect(p.detail).toContain('TCG');
  });
});
