/**
 * Secrets in process output and in the bootstrap: masked by line in logs, progress lines and errors; logs
 * owner-only; mirror credentials only in an auth.conf.d file that the bootstrap removes.
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aptAuthEntry, splitMirrorCredentials } from '../../../src/config/mirror.js';
import type { MultistrapVars } from '../../../src/config/types.js';
import { LineMasker, run } from '../../../src/engine/exec.js';
import {
  type MmdebstrapOptions,
  mmdebstrapArgs,
  pickMmdebstrapMode,
} from '../../../src/engine/mmdebstrap.js';
import { BuildError } from '../../../src/errors.js';
import { writeSidecars } from '../../../src/stages/artifact.js';
import { BOOTSTRAP_AUTH_FILE, rootfsStage } from '../../../src/stages/rootfs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aib-secrets-unit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('masking process output by line', () => {
  it('finds a secret split across two chunks', () => {
    const m = new LineMasker(['s3cr3t-value']);
    expect(m.push('before s3cr3t-')).toBe('');
    expect(m.push('value after\nnext ')).toBe('before *** after\n');
    expect(m.flush()).toBe('next ');
  });

  it('masks URL user-info it was not told about', () => {
    expect(new LineMasker([]).push('GET http://bob:pw@host/x\n')).toBe('GET http://***@host/x\n');
  });

  it('keeps a secret split across two writes of a real process out of the log, lines and error', async () => {
    const log = join(dir, 'a.log');
    const lines: string[] = [];
    const script = 'printf "key=TOPSEC"; sleep 0.3; printf "RET99 done\\n"; printf "TOPSECRET99" >&2; exit 3';
    const err = await run('sh', ['-c', script], {
      logFile: log,
      secrets: ['TOPSECRET99'],
      onLine: (l) => lines.push(l),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    const text = await readFile(log, 'utf8');
    expect(text).toContain('key=*** done');
    expect(text).not.toContain('TOPSECRET99');
    expect(lines.join('')).not.toContain('TOPSECRET99');
    expect(lines).toContain('key=*** done\n');
    expect((err as BuildError).message).not.toContain('TOPSECRET99');
    expect((err as BuildError).details.logTail).not.toContain('TOPSECRET99');
  });

  it('writes logs 0600 and narrows an existing wider log', async () => {
    const fresh = join(dir, 'fresh.log');
    await run('true', [], { logFile: fresh });
    expect((await stat(fresh)).mode & 0o777).toBe(0o600);
    const old = join(dir, 'old.log');
    await writeFile(old, 'earlier\n');
    await chmod(old, 0o644);
    await run('true', [], { logFile: old });
    expect((await stat(old)).mode & 0o777).toBe(0o600);
    expect(await readFile(old, 'utf8')).toMatch(/^earlier\n\S+Z \$ true\n/);
  });
});

describe('profile JSON', () => {
  it('is written 0600, also over an existing wider one', async () => {
    const art = join(dir, 'x.qcow2');
    await writeFile(join(dir, 'x.json'), '{}');
    await chmod(join(dir, 'x.json'), 0o644);
    const { profile } = await writeSidecars(art, {
      artifact: 'x.qcow2',
      type: 'qcow',
      md5: 'd41d8cd98f00b204e9800998ecf8427e',
      bytes: 0,
      image: { ref: 'r', id: 'i', digest: 'd' },
      configDigest: 'c',
      tool: { name: 't', version: 'v' },
      sourceDateEpoch: 0,
    });
    expect(profile).toBe(join(dir, 'x.json'));
    expect((await stat(profile)).mode & 0o777).toBe(0o600);
  });
});

describe('mirror credentials', () => {
  it('are split from the URL and written as an apt auth.conf entry with the scheme', () => {
    const s = splitMirrorCredentials('http://mirror%40user:p%3Ass@10.1.2.3:8080/debian/');
    expect(s).toEqual({ url: 'http://10.1.2.3:8080/debian/', login: 'mirror@user', password: 'p:ss' });
    expect(aptAuthEntry(s.url, s.login!, s.password!)).toBe(
      'machine http://10.1.2.3:8080/debian login mirror@user password p:ss\n',
    );
    expect(splitMirrorCredentials('http://mirror.example/debian')).toEqual({
      url: 'http://mirror.example/debian',
    });
    expect(() => aptAuthEntry('http://h/d', 'u', 'with blank')).toThrow(/http:\/\/h\/d/);
  });

  it('reach apt only through an auth.conf.d file that the bootstrap removes; no source line has them', async () => {
    const multistrap: MultistrapVars = {
      rootfs_arch: 'amd64',
      repos: [
        {
          name: 'main',
          source: 'http://mirroruser:MirrorPass77@mirror.invalid/debian',
          suite: 'bookworm',
          components: ['main'],
          packages: ['systemd'],
          register_repo_with_rootfs: true,
          omitdebsrc: true,
        },
      ],
      unapproved_packages: [],
      systemd_nic_names_policy: 'kernel',
      systemd_nic_alternative_names_policy: 'path',
      multistrap_retries: 1,
      multistrap_retries_delay: 0,
      unreachable_hints: [],
      extra: {},
    };
    let seen: MmdebstrapOptions | undefined;
    const files = new Map<string, { content: string; mode: number }>();
    const infos: string[] = [];
    await rootfsStage({
      multistrap,
      manifestsDir: null,
      proxy: 'http://proxyuser:ProxyPass88@proxy.invalid:3128',
      noProxy: '',
      cacheDir: dir,
      digest: 'd',
      logFile: join(dir, 'log'),
      mode: 'unshare',
      onInfo: (m) => infos.push(m),
      bootstrap: async (o) => {
        seen = o;
        // The uploads exist only while the bootstrap runs: read them now.
        for (const u of o.uploads)
          files.set(u.path, {
            content: await readFile(u.hostPath, 'utf8'),
            mode: (await stat(u.hostPath)).mode & 0o777,
          });
        await writeFile(o.output, 'tar');
      },
    });
    const o = seen!;
    const auth = files.get(BOOTSTRAP_AUTH_FILE)!;
    expect(auth.content).toBe(
      'machine http://mirror.invalid/debian login mirroruser password MirrorPass77\n',
    );
    expect(auth.mode).toBe(0o600);
    expect(o.uploads.find((u) => u.path === BOOTSTRAP_AUTH_FILE)).toMatchObject({
      when: 'setup',
      mode: '600',
    });
    expect(o.removeAfter).toContain(BOOTSTRAP_AUTH_FILE);
    // The image's sources and mmdebstrap's command line carry the URL without credentials.
    expect(files.get('/etc/apt/sources.list.d/airship.list')!.content).toContain(
      'deb http://mirror.invalid/debian bookworm main',
    );
    const args = mmdebstrapArgs(o).join('\n');
    expect(args).not.toContain('MirrorPass77');
    expect(args).not.toContain('ProxyPass88');
    expect(args).toContain('--mode=unshare');
    expect(args).toContain(`--setup-hook=chmod 600 "$1"'${BOOTSTRAP_AUTH_FILE}'`);
    expect(args.indexOf(`rm -f "$1"'${BOOTSTRAP_AUTH_FILE}'`)).toBeGreaterThan(args.indexOf('sync-out'));
    expect(args).toContain(`--customize-hook=rm -f "$1"'/etc/ssh/ssh_host_'*`);
    for (const [path, f] of files)
      if (path !== BOOTSTRAP_AUTH_FILE) expect(f.content).not.toMatch(/MirrorPass77|ProxyPass88/);
    // What the engine masks in output.
    expect(o.secrets).toEqual(
      expect.arrayContaining(['MirrorPass77', 'ProxyPass88', 'mirroruser:MirrorPass77']),
    );
    expect(infos).toEqual(['mmdebstrap unshare mode (chosen by the caller)']);
  });

  it('with blanks in them, the bootstrap is refused naming the repo', async () => {
    const multistrap = {
      rootfs_arch: 'amd64',
      repos: [
        { name: 'odd', source: 'http://u:a%20b@m.invalid/d', suite: 's', components: [], packages: [] },
      ],
      unapproved_packages: [],
    } as unknown as MultistrapVars;
    await expect(
      rootfsStage({
        multistrap,
        manifestsDir: null,
        proxy: '',
        noProxy: '',
        cacheDir: dir,
        digest: 'd',
        logFile: join(dir, 'log'),
        mode: 'root',
        bootstrap: async () => undefined,
      }),
    ).rejects.toThrow(/repo odd: .*http:\/\/m\.invalid\/d/);
  });
});

describe('mmdebstrap mode', () => {
  const probe = (subuid: boolean, refused: string | null) => ({
    hasSubuidRange: async () => subuid,
    namespacesRefused: async () => refused,
  });
  it('is unshare for a user with a subuid range who may create a user namespace', async () => {
    expect((await pickMmdebstrapMode(1000, probe(true, null))).mode).toBe('unshare');
  });
  it('is fakechroot for a user without a subuid range, and says so', async () => {
    const r = await pickMmdebstrapMode(1000, probe(false, null));
    expect(r.mode).toBe('fakechroot');
    expect(r.why).toMatch(/uid 1000 has no subordinate uid range in \/etc\/subuid/);
  });
  it('is fakechroot for a user refused a user namespace (a plain container), naming the refusal', async () => {
    const r = await pickMmdebstrapMode(1000, probe(true, 'unshare: unshare failed: Operation not permitted'));
    expect(r.mode).toBe('fakechroot');
    expect(r.why).toMatch(/does not let uid 1000 create a user namespace \(unshare: unshare failed/);
  });
  it('as root, is root mode when namespaces are refused', async () => {
    const r = await pickMmdebstrapMode(0, probe(false, 'no'));
    expect(r.mode).toBe('root');
  });
  it('as root on this machine, says why it is unshare or root', async () => {
    const r = await pickMmdebstrapMode(0);
    expect(r.why).toMatch(
      r.mode === 'unshare' ? /own mount, pid/ : /does not allow new mount\/pid namespaces/,
    );
  });
});

describe('mmdebstrap fakechroot arguments', () => {
  const base = {
    suite: 'bookworm',
    arch: 'amd64',
    sources: [],
    packages: ['systemd'],
    output: '/o.tar',
    archivesDir: '/a',
    uploads: [],
    removeAfter: [],
    logFile: '/l',
  };
  it('link libsystemd-shared where fakechroot finds it, and remove the link after', () => {
    const a = mmdebstrapArgs({ ...base, mode: 'fakechroot' });
    expect(a).toContain('--mode=fakechroot');
    const link = a.find((x) => x.startsWith('--essential-hook=') && x.includes('libsystemd-shared'));
    expect(link).toContain('"$1/usr/lib/systemd/libsystemd-shared-$v.so"');
    expect(a.some((x) => x.startsWith('--customize-hook=find') && x.includes('-type l'))).toBe(true);
  });
  it('leave the root alone in unshare mode', () => {
    expect(mmdebstrapArgs({ ...base, mode: 'unshare' }).join(' ')).not.toContain('libsystemd-shared');
  });
});
