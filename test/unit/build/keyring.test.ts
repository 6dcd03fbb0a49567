/**
 * The decisions around downloaded repository keys, without the network: what curl is told (schemes, cap,
 * proxy, quoting), which fingerprints count as primary, what goes into the rootfs digest, how an apt failure
 * is tied to the repo's name, and what of a key URL may be shown.
 */
import { describe, expect, it } from 'vitest';
import type { MultistrapVars, Repo } from '../../../src/config/types.js';
import { curlConfig, primaryFingerprints } from '../../../src/engine/keyring.js';
import { shownUrl } from '../../../src/stages/keyrings.js';
import { aptCause, namingRepos, rootfsDigestInput } from '../../../src/stages/rootfs.js';
import { digestOf } from '../../../src/stages/store.js';

const repo = (name: string, source: string, extra: Partial<Repo> = {}): Repo => ({
  name,
  source,
  suite: 'stable',
  components: ['main'],
  packages: [],
  register_repo_with_rootfs: true,
  omitdebsrc: true,
  ...extra,
});

const vars = (repos: Repo[]): MultistrapVars => ({
  rootfs_arch: 'amd64',
  repos,
  unapproved_packages: [],
  systemd_nic_names_policy: 'kernel',
  systemd_nic_alternative_names_policy: 'path',
  multistrap_retries: 1,
  multistrap_retries_delay: 1,
  unreachable_hints: [],
  extra: {},
});

describe('curl config for a key download', () => {
  it('follows only http and https, also in redirects, and caps the size', () => {
    const c = curlConfig({ url: 'https://k.example.org/key', maxBytes: 1000 });
    expect(c).toContain('proto = "=http,https"\n');
    expect(c).toContain('proto-redir = "=http,https"\n');
    expect(c).toContain('max-filesize = 1000\n');
    expect(c).toContain('fail\n');
    expect(c).not.toContain('proxy');
  });
  it('passes proxy and no-proxy, quoted for curl', () => {
    const c = curlConfig({
      url: 'https://k.example.org/a"b\\c',
      maxBytes: 1,
      proxy: 'http://u:p@proxy:3128',
      noProxy: 'localhost,127.0.0.1',
    });
    expect(c).toContain('url = "https://k.example.org/a\\"b\\\\c"\n');
    expect(c).toContain('proxy = "http://u:p@proxy:3128"\n');
    expect(c).toContain('noproxy = "localhost,127.0.0.1"\n');
  });
});

describe('primary fingerprints', () => {
  const listing = [
    'pub:-:255:22:AAAA000000000001:1700000000:::-:::scSC::::::23::0:',
    'fpr:::::::::1111111111111111111111111111111111111111:',
    'uid:-::::1700000000::X::a <a@b>::::::::::0:',
    'sub:-:255:18:BBBB000000000002:1700000000::::::e::::::23:',
    'fpr:::::::::2222222222222222222222222222222222222222:',
    'pub:-:255:22:CCCC000000000003:1700000000:::-:::scSC::::::23::0:',
    'fpr:::::::::3333333333333333333333333333333333333333:',
  ].join('\n');
  it('are the fingerprints right after pub records, never a subkey', () => {
    expect(primaryFingerprints(listing)).toEqual({
      primaries: ['1'.repeat(40), '3'.repeat(40)],
      secret: false,
    });
  });
  it('notices a secret key', () => {
    expect(primaryFingerprints(listing.replace(/^pub/, 'sec')).secret).toBe(true);
  });
});

describe('downloaded keys in the rootfs digest', () => {
  const m = vars([repo('Debian', 'http://deb.example.org/debian'), repo('K', 'https://k.example.org')]);
  const key = (sha256: string) => new Map([['K', { path: '/x', sha256, fingerprints: [] }]]);
  it('a changed key changes the digest', () => {
    expect(digestOf(rootfsDigestInput(m, key('a'.repeat(64))))).not.toBe(
      digestOf(rootfsDigestInput(m, key('b'.repeat(64)))),
    );
  });
  it('a build without downloaded keys keeps the digest it had', () => {
    expect(digestOf(rootfsDigestInput(m, new Map()))).toBe(digestOf(rootfsDigestInput(m)));
    expect(rootfsDigestInput(m)).not.toHaveProperty('keys');
  });
});

describe('apt failures name the repository', () => {
  const repos = [
    repo('Debian', 'http://deb.example.org/debian'),
    repo('Signed', 'http://127.0.0.1:8080', { keyring_url: 'http://127.0.0.1:8080/k.asc' }),
  ];
  const uris = repos.map((r) => r.source);
  it('prefixes the cause with the repo whose URL apt names', () => {
    const out = [
      "W: GPG error: http://127.0.0.1:8080 stable InRelease: The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 7817A234CFC7E843",
      "E: The repository 'http://127.0.0.1:8080 stable InRelease' is not signed.",
    ].join('\n');
    const cause = namingRepos(aptCause(out), repos, uris);
    expect(cause).toMatch(/^repo Signed \(key from keyring_url\): W: GPG error/);
    expect(cause).toContain('NO_PUBKEY 7817A234CFC7E843');
    expect(cause).not.toContain('repo Debian');
  });
  it('leaves a cause that names no repo as it is', () => {
    expect(namingRepos('E: Unable to locate package x', repos, uris)).toBe('E: Unable to locate package x');
  });
});

describe('a key URL as shown', () => {
  it('drops user-info, query and fragment', () => {
    expect(shownUrl('https://u:secret@k.example.org/key.asc?token=abc#f')).toBe(
      'https://k.example.org/key.asc',
    );
  });
});
