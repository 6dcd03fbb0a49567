/**
 * A signed apt repository made by the test: one small package built with dpkg-deb, indexed by
 * dpkg-scanpackages, a Release file signed (InRelease and Release.gpg) with a throw-away key made in a temp
 * GnuPG home, and a second throw-away key that signed nothing. Both public keys are in the served folder
 * (`good.asc`, `other.asc`), and the second key's secret part (`secret.asc`). Served on 127.0.0.1 by test/helpers/key-server.mjs in a child process, so a
 * synchronous CLI run can reach it too.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from './cli.js';

export interface SignedRepo {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  suite: string;
  component: string;
  packageName: string;
  /** Where the package puts its one file, and what the file holds (a value unique to this run). */
  markerPath: string;
  markerText: string;
  /** Primary fingerprints of the signing key and of the other key. */
  goodFingerprint: string;
  otherFingerprint: string;
  /** Stops the server, ends the GnuPG agents, removes the folders. */
  close(): Promise<void>;
}

function gpg(home: string, args: string[], input?: string): string {
  return execFileSync('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], {
    encoding: 'utf8',
    env: { ...process.env, GNUPGHOME: home },
    // Kept from the test's output; a failure carries it in the thrown error.
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input !== undefined ? { input } : {}),
  });
}

/** A throw-away ed25519 signing key in its own home; returns its fingerprint. */
function makeKey(home: string, uid: string): string {
  mkdirSync(home, { mode: 0o700 });
  gpg(home, ['--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', '0']);
  const fpr = gpg(home, ['--with-colons', '--list-keys'])
    .split('\n')
    .find((l) => l.startsWith('fpr:'))
    ?.split(':')[9];
  if (!fpr) throw new Error(`gpg made no key for ${uid}`);
  return fpr;
}

function hashLine(root: string, rel: string): string {
  const data = readFileSync(join(root, rel));
  return ` ${createHash('sha256').update(data).digest('hex')} ${statSync(join(root, rel)).size} ${rel}`;
}

/** Builds the package and the signed index in `root`. */
function buildRepo(root: string, home: string, pkg: string, markerPath: string, markerText: string): void {
  const src = join(root, '..', 'pkg');
  mkdirSync(join(src, 'DEBIAN'), { recursive: true });
  mkdirSync(join(src, markerPath, '..'), { recursive: true });
  writeFileSync(join(src, markerPath), markerText);
  writeFileSync(
    join(src, 'DEBIAN', 'control'),
    `Package: ${pkg}\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@example.invalid>\nDescription: keyring_url test package\n`,
  );
  const pool = join(root, 'pool');
  mkdirSync(pool, { recursive: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', src, join(pool, `${pkg}_1.0_all.deb`)], {
    stdio: 'ignore',
  });
  const dist = join(root, 'dists', 'stable');
  const bin = join(dist, 'main', 'binary-amd64');
  mkdirSync(bin, { recursive: true });
  const packages = execFileSync('dpkg-scanpackages', ['--multiversion', 'pool'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  writeFileSync(join(bin, 'Packages'), packages);
  writeFileSync(join(bin, 'Packages.gz'), gzipSync(packages));
  const files = ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz'];
  const release = [
    'Origin: aib-test',
    'Label: aib-test',
    'Suite: stable',
    'Codename: stable',
    `Date: ${new Date().toUTCString()}`,
    'Architectures: amd64',
    'Components: main',
    'SHA256:',
    ...files.map((f) => hashLine(dist, f)),
    '',
  ].join('\n');
  writeFileSync(join(dist, 'Release'), release);
  gpg(home, ['--yes', '--clearsign', '--output', join(dist, 'InRelease'), join(dist, 'Release')]);
  gpg(home, [
    '--yes',
    '--armor',
    '--detach-sign',
    '--output',
    join(dist, 'Release.gpg'),
    join(dist, 'Release'),
  ]);
}

/** Starts key-server.mjs on `root`; resolves with its port. */
function serve(root: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(ROOT, 'test/helpers/key-server.mjs'), root], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => {
      out += s;
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`key-server exited with ${code} before listening`)));
  });
}

/**
 * Makes the repository and starts serving it.
 * @throws Error when gpg, dpkg-deb or dpkg-scanpackages is missing or fails (the test must fail then).
 */
export async function signedRepo(): Promise<SignedRepo> {
  const work = mkdtempSync(join(tmpdir(), 'aib-signed-repo-'));
  const good = join(work, 'gnupg-good');
  const other = join(work, 'gnupg-other');
  const root = join(work, 'www');
  mkdirSync(root);
  const goodFingerprint = makeKey(good, 'aib test repo <repo@example.invalid>');
  const otherFingerprint = makeKey(other, 'aib other key <other@example.invalid>');
  const packageName = 'aib-keyring-test';
  const markerPath = '/usr/share/aib-keyring-test/marker';
  const markerText = `signed repo ${createHash('sha256').update(work).digest('hex').slice(0, 16)}\n`;
  buildRepo(root, good, packageName, markerPath, markerText);
  writeFileSync(join(root, 'good.asc'), gpg(good, ['--armor', '--export', goodFingerprint]));
  writeFileSync(join(root, 'other.asc'), gpg(other, ['--armor', '--export', otherFingerprint]));
  // A secret key where a public key is expected (hostile case).
  writeFileSync(
    join(root, 'secret.asc'),
    gpg(other, [
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--armor',
      '--export-secret-keys',
      otherFingerprint,
    ]),
  );
  const { child, port } = await serve(root);
  return {
    url: `http://127.0.0.1:${port}`,
    suite: 'stable',
    component: 'main',
    packageName,
    markerPath,
    markerText,
    goodFingerprint,
    otherFingerprint,
    async close() {
      child.kill('SIGTERM');
      for (const home of [good, other])
        execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
      rmSync(work, { recursive: true, force: true });
    },
  };
}
