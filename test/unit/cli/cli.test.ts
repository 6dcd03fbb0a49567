import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../../src/config/settings.js';
import { runCli } from '../../helpers/cli.js';

describe('CLI', () => {
  it('lists every command', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['build', 'cut-image', 'package-qcow', 'boot-test', 'squash', 'doctor', 'config']) {
      expect(r.stdout).toContain(c);
    }
  });

  it('shows each option of a command with its default and env variable', () => {
    const r = runCli(['build', '--help']);
    expect(r.status).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    for (const s of SETTINGS.filter((x) => x.commands === '*' || x.commands.includes('build'))) {
      expect(text).toContain(s.flag);
      expect(text).toContain(`env ${s.env})`);
    }
    expect(text).toContain('(default: debian_bookworm; env DISTRO)');
  });

  it('exits 2 on an unknown option and on an invalid env value', () => {
    expect(runCli(['build', '--no-such-flag']).status).toBe(2);
    const r = runCli(['config'], { BOOT_TIMEOUT: 'soon' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('BOOT_TIMEOUT');
  });
});
