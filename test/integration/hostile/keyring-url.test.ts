/**
 * Hostile key URLs (`keyring_url`) through the CLI `build`: an endless body, a body announced as 1 GiB, bytes
 * that are no key, a secret key, redirects to file:// and ftp://, and a URL carrying a password. Each fails
 * with exit 1 naming the repo, before mmdebstrap starts (so in seconds), touches nothing on the host, and never
 * prints the password or the key material.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_MANIFESTS } from '../../helpers/built-image.js';
import { type Canary, plantCanary } from '../../helpers/canary.js';
import { runCli } from '../../helpers/cli.js';
import { type SignedRepo, signedRepo } from '../../helpers/signed-repo.js';

const work = mkdtempSync(join(tmpdir(), 'aib-hostile-keyring-'));
const cache = join(work, 'cache');
/** key-server.mjs's password for /private/ (the default it uses). */
const PASSWORD = 's3cret-key-password';
let repo: SignedRepo;
let canary: Canary;

function buildWithKey(name: string, keyUrl: string, pin?: string): { status: number | null; out: string } {
  const dir = join(work, name);
  cpSync(TEST_MANIFESTS, dir, { recursive: true });
  const file = join(dir, 'rootfs', 'multistrap-vars.yaml');
  writeFileSync(
    file,
    `${readFileSync(file, 'utf8')}
repos_append:
  - name: Hostile-Key
    source: ${repo.url}
    suite: stable
    keyring_url: "${keyUrl}"
${pin ? `    keyring_fingerprint: ${pin}\n` : ''}    packages: [${repo.packageName}]
`,
  );
  const r = runCli(['build'], {
    WORKDIR: dir,
    IMAGE_BUILDER_CACHE: cache,
    DOCKER_REGISTRY: 'localhost',
    IMAGE_PREFIX: 'airship-test',
    IMAGE_TAG: `hostile-key-${process.pid}`,
  });
  const log = /^log: (\S+)$/m.exec(r.stderr)?.[1];
  const logText = log ? readFileSync(log, 'utf8') : '';
  // Refused at the key: the bootstrap never started.
  expect(log, r.stderr).toBeTruthy();
  expect(logText).not.toContain('$ mmdebstrap');
  return { status: r.status, out: `${r.stdout}\n${r.stderr}\n${logText}` };
}

beforeAll(async () => {
  canary = plantCanary();
  repo = await signedRepo();
  mkdirSync(cache);
}, 120_000);

afterAll(async () => {
  await repo?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('hostile keyring_url', () => {
  it.each([
    [
      'an endless body',
      '/huge',
      /cannot download its key from http:\/\/127\.0\.0\.1:\d+\/huge: the body is larger than 1048576 bytes/,
    ],
    ['a body announced as 1 GiB', '/huge-declared', /\/huge-declared: the body is larger than 1048576 bytes/],
    ['a redirect to file://', '/to-file', /\/to-file: .*Protocol "file" not supported.*only http and https/],
    ['a redirect to ftp://', '/to-ftp', /\/to-ftp: .*Protocol "ftp" not supported.*only http and https/],
    [
      'bytes that are no key',
      '/garbage.asc',
      /the key from http:\/\/127\.0\.0\.1:\d+\/garbage\.asc is refused: gpg finds no OpenPGP key/,
    ],
    ['a secret key', '/secret.asc', /secret\.asc is refused: it holds a secret key/],
  ])(
    '%s: exit 1 naming the repo',
    (_what, path, cause) => {
      const t0 = Date.now();
      const r = buildWithKey(path.replace(/\W/g, ''), `${repo.url}${path}`);
      expect(r.status, r.out).toBe(1);
      expect(r.out).toContain('rootfs stage failed: repo Hostile-Key: ');
      expect(r.out).toMatch(cause);
      // Nothing of the 1 GiB or of /etc/passwd reached the output.
      expect(r.out).not.toMatch(/AAAAAAAAAAAAAAAA|root:x:0:0/);
      expect(r.out).not.toContain('PRIVATE KEY BLOCK');
      expect(Date.now() - t0).toBeLessThan(120_000);
      canary.check();
    },
    180_000,
  );

  it('a URL with credentials: used for the download, never printed or logged', () => {
    const { host } = new URL(repo.url);
    // Downloaded with the credentials (the server answers 401 without them), then refused by the pin, so the
    // failure's output and log can be searched for the password.
    const r = buildWithKey(
      'credentials',
      `http://aib:${PASSWORD}@${host}/private/good.asc?token=${PASSWORD}`,
      repo.otherFingerprint,
    );
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain(`has primary fingerprint ${repo.goodFingerprint}`);
    expect(r.out).toContain(`the key from http://${host}/private/good.asc has`);
    expect(r.out).not.toContain(PASSWORD);
    canary.check();
  }, 180_000);

  it('a wrong password: the server refuses it, the message names the repo and does not show it', () => {
    const { host } = new URL(repo.url);
    const r = buildWithKey('bad-password', `http://aib:Wr0ng-${PASSWORD}@${host}/private/good.asc`);
    expect(r.status, r.out).toBe(1);
    expect(r.out).toMatch(
      /repo Hostile-Key: cannot download its key from http:\/\/127\.0\.0\.1:\d+\/private\/good\.asc: .*401/,
    );
    expect(r.out).not.toContain(PASSWORD);
    canary.check();
  }, 180_000);
});
