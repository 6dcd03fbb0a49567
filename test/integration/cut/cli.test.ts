import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

describe('boot-test CLI', () => {
  it('exits 2 for a file that is neither an ISO nor a QCOW2', () => {
    const r = runCli(['boot-test', '/etc/hostname']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/etc/hostname: expected an .iso or .qcow2 file');
  });

  it('exits 2 for an unknown firmware', () => {
    const r = runCli(['boot-test', 'x.iso', '--firmware', 'coreboot']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--firmware: expected bios, uefi or both, got "coreboot"');
  });

  it('skips when BOOT_TIMEOUT=0', () => {
    const r = runCli(['boot-test', 'x.iso'], { BOOT_TIMEOUT: '0' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('boot test skipped (BOOT_TIMEOUT=0)\n');
  });
});
