import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  redactSecrets,
  redactText,
  redactUserData,
  redactValue,
  secretStrings,
} from '../../../src/config/redact.js';
import { AIRSHIP, load } from './fixtures.js';

const PEM = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBzZWNyZXRrZXlzZWNyZXRrZXlzZWNyZXRrZXlzZWNyZXQAAAAA',
  '-----END OPENSSH PRIVATE KEY-----',
  '',
].join('\n');

/** Values in the forms users write them: each must vanish from the printed configuration. */
const CASES: [string, unknown, string][] = [
  ['a plain password key', { password: 'hunter2hunter2' }, 'hunter2hunter2'],
  ['a key in another case', { DB_Password: 'Sup3rS3cret' }, 'Sup3rS3cret'],
  ['a passwd key deep in a list', { a: [{ b: { hashed_passwd: '$6$salt$deadbeef' } }] }, '$6$salt$deadbeef'],
  ['a block scalar under a secret key', { api_key: 'line-one-key\nline-two-key\n' }, 'line-two-key'],
  ['a map under a secret key', { credentials: { user: 'bob', value: 'tok-123456' } }, 'tok-123456'],
  ['a number under a token key', { token: 12345678 }, '12345678'],
  ['a PEM private key in any string', { files: [{ file_content: PEM }] }, PEM.split('\n')[2]!],
  ['URL credentials in any string', { source: 'http://mirroruser:mirr0rpass@10.0.0.1/debian' }, 'mirr0rpass'],
  [
    'a cloud-config block-scalar password',
    { user_data: '#cloud-config\nusers:\n  - name: a\n    passwd: |\n      $6$blockhash\n' },
    '$6$blockhash',
  ],
  [
    'a cloud-config flow-map password',
    { user_data: '#cloud-config\nusers: [{name: a, "plain_text_passwd": flowpass99}]\n' },
    'flowpass99',
  ],
  [
    'a cloud-config password under a quoted key',
    { user_data: "#cloud-config\n'password': 'quotedpass77'\n" },
    'quotedpass77',
  ],
  [
    'a chpasswd list',
    { user_data: '#cloud-config\nchpasswd:\n  list: |\n    root:rootpass55\n  expire: false\n' },
    'rootpass55',
  ],
  ['a JSON document in a file', { file_content: '{"auth": {"secret": "jsonsecret1"}}' }, 'jsonsecret1'],
];

describe('redaction on the parsed structure', () => {
  it.each(CASES)('masks %s', (_name, value, secret) => {
    const out = JSON.stringify(redactValue(value));
    expect(out).not.toContain(secret);
    expect(out).toContain('***');
    // Whatever is masked in print is also searched for in process output.
    expect(secretStrings(value).some((s) => s.includes(secret) || secret.includes(s))).toBe(true);
    expect(redactText(`noise ${secret} noise`, secretStrings(value))).not.toContain(secret);
  });

  it('keeps booleans, labels and the rest of an embedded document', () => {
    const value = {
      password_lock: true,
      user_data:
        '#cloud-config\n# a comment\nhostname: box\nchpasswd:\n  users:\n    - name: root\n      password: pw123456\n',
    };
    const out = redactValue(value);
    expect(out.password_lock).toBe(true);
    expect(out.user_data).toContain('# a comment');
    expect(out.user_data).toContain('hostname: box');
    expect(out.user_data).toContain('name: root');
    expect(out.user_data).not.toContain('pw123456');
    expect(secretStrings(value)).not.toContain('root');
  });

  it('collects the forms a secret takes in output: decoded, Basic auth, JSON-escaped, by line', () => {
    const s = secretStrings({ proxy: 'http://us%40er:p%3Ass@proxy:3128', key: { private_key: PEM } });
    expect(s).toContain('us%40er:p%3Ass');
    expect(s).toContain('p:ss');
    expect(s).toContain(Buffer.from('us@er:p:ss').toString('base64'));
    expect(s).toContain(JSON.stringify(PEM).slice(1, -1));
    expect(s).toContain('QyNTUxOQAAACBzZWNyZXRrZXlzZWNyZXRrZXlzZWNyZXRrZXlzZWNyZXQAAAAA');
    // Longest first, so a secret containing another is masked whole.
    expect([...s].sort((a, b) => b.length - a.length)).toEqual(s);
  });

  it('does not collect short values that would blank a log', () => {
    expect(secretStrings({ password: 'ab' })).toEqual([]);
    expect(redactValue({ password: 'ab' })).toEqual({ password: '***' });
  });

  it('masks the user_data of the original manifests', async () => {
    const text = await readFile(join(AIRSHIP, 'manifests/iso/user_data'), 'utf8');
    const safe = redactUserData(text);
    expect(safe).not.toMatch(/root:password|ubuntu:password|^password: password/m);
    expect(safe).toContain('hostname: airship');
  });

  it('masks the user_data of a printed configuration and leaves the loaded one intact', async () => {
    const { config } = await load({ workdir: join(AIRSHIP, 'manifests') });
    expect(redactSecrets(config).iso.user_data).not.toContain('root:password');
    expect(config.iso.user_data).toContain('root:password');
  });
});
