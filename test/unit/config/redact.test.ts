import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUserData } from '../../../src/config/redact.js';
import { AIRSHIP, load } from './fixtures.js';

describe('redaction', () => {
  it('masks password keys and chpasswd list lines of user_data, nothing else', async () => {
    const text = await readFile(join(AIRSHIP, 'manifests/iso/user_data'), 'utf8');
    const safe = redactUserData(text);
    expect(safe).toContain('password: ***');
    expect(safe).toContain('      root:***\n      ubuntu:***\n');
    expect(safe).not.toMatch(/root:password|ubuntu:password|^password: password/m);
    expect(safe).toContain('gecos: password');
    expect(safe).toContain('hostname: airship');
    expect(safe.split('\n')).toHaveLength(text.split('\n').length);
  });

  it('masks the user_data of a printed configuration and leaves the loaded one intact', async () => {
    const { config } = await load({ workdir: join(AIRSHIP, 'manifests') });
    expect(redactSecrets(config).iso.user_data).not.toContain('root:password');
    expect(config.iso.user_data).toContain('root:password');
  });
});
