/**
 * Repositories verified by a downloaded key (`keyring_url`, `keyring_fingerprint`), against a signed apt
 * repository the test makes and serves on 127.0.0.1 (test/helpers/signed-repo.ts): its package is installed
 * and apt in the root file system trusts the repo by signed-by; a repo signed by another key, or a key with another
 * fingerprint than the pin, fails the build naming the repository. The real mmdebstrap, Docker and ansible.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/api.js';
import { fetchKeyrings } from '../../../src/stages/keyrings.js';
import { rootfsStage } from '../../../src/stages/rootfs.js';
import { TEST_CACHE, TEST_MANIFESTS, TEST_SETTINGS } from '../../helpers/built-image.js';
import { runCli } from '../../helpers/cli.js';
import { type SignedRepo, signedRepo } from '../../helpers/signed-repo.js';

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const work = mkdtempSync(join(tmpdir(), 'aib-keyring-url-'));
const cache = join(work, 'cache');
const TAG = `keyring-${process.pid}`;
/** The failing builds' tag: never the one the good build tagged, so "nothing tagged" can be checked. */
const FAIL_TAG = `${TAG}-fail`;
let repo: SignedRepo;

/** The test manifests plus the signed repo, with the given key settings. */
function manifests(name: string, key: string, pin?: string): string {
  const dir = join(work, name);
  cpSync(TEST_MANIFESTS, dir, { recursive: true });
  const file = join(dir, 'rootfs', 'multistrap-vars.yaml');
  writeFileSync(
    file,
    `${readFileSync(file, 'utf8')}
repos_append:
  - name: Signed-Test
    source: ${repo.url}
    suite: ${repo.suite}
    components: ${repo.component}
    keyring_url: ${repo.url}/${key}
${pin ? `    keyring_fingerprint: ${pin}\n` : ''}    omitdebsrc: true
    packages:
      - ${repo.packageName}
`,
  );
  return dir;
}

function cliBuild(dir: string): ReturnType<typeof runCli> {
  return runCli(['build'], {
    WORKDIR: dir,
    IMAGE_BUILDER_CACHE: cache,
    DOCKER_REGISTRY: 'localhost',
    IMAGE_PREFIX: 'airship-test',
    IMAGE_TAG: FAIL_TAG,
  });
}

beforeAll(async () => {
  repo = await signedRepo();
  // The packages the shared test cache already holds: only the test's own package is downloaded.
  mkdirSync(cache);
  const archives = join(TEST_CACHE, 'apt-archives');
  if (existsSync(archives)) cpSync(archives, join(cache, 'apt-archives'), { recursive: true });
}, 120_000);

afterAll(async () => {
  await repo?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('keyring_url: a repository verified by a downloaded key', () => {
  // The key and the repository are the rootfs stage's business: the good case runs that stage (the real key
  // download and mmdebstrap) on the repos the manifests give, with the Debian repo's package list left out
  // (a minbase bootstrap, not the kernel and its initramfs, which the later stages need and this does not).
  it('installs the package from the signed repository, and the root file system trusts the repo by signed-by', async () => {
    const dir = manifests('good', 'good.asc', repo.goodFingerprint.toLowerCase());
    const { config } = await resolveConfig({
      ...TEST_SETTINGS,
      cacheDir: cache,
      imageTag: TAG,
      workdir: dir,
    });
    const repos = config.multistrap.repos.map((r) => (r.name === 'Signed-Test' ? r : { ...r, packages: [] }));
    const info: string[] = [];
    const common = { proxy: '', noProxy: '', cacheDir: cache, logFile: join(work, 'good.log') };
    const keyrings = await fetchKeyrings({ ...common, repos, onInfo: (m) => info.push(m) });
    expect(info).toContain(`repo Signed-Test: key ${repo.goodFingerprint} from ${repo.url}/good.asc`);
    const { tar } = await rootfsStage({
      ...common,
      multistrap: { ...config.multistrap, repos },
      manifestsDir: dir,
      digest: 'keyring-url',
      keyrings,
    });
    const read = (path: string) => sh('tar', ['-xOf', tar, `.${path}`]);
    const marker = read(repo.markerPath);
    expect(marker.stderr).toBe('');
    expect(marker.stdout).toBe(repo.markerText);
    const sources = read('/etc/apt/sources.list.d/airship.list').stdout;
    expect(sources).toContain(
      `deb [signed-by=/etc/apt/keyrings/Signed-Test.gpg] ${repo.url} ${repo.suite} ${repo.component}`,
    );
    expect(sources).not.toMatch(/trusted=|allow-insecure/);
    // The keyring in the root is the binary one the bootstrap verified with (no armor).
    const keyring = read('/etc/apt/keyrings/Signed-Test.gpg');
    expect(keyring.status).toBe(0);
    expect(keyring.stdout.length).toBeGreaterThan(0);
    expect(keyring.stdout).not.toContain('BEGIN PGP');
  }, 1_800_000);

  it('fails the build naming the repository when the repository is signed by another key', () => {
    const r = cliBuild(manifests('other-key', 'other.asc'));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/rootfs stage failed/);
    expect(r.stderr).toContain('repo Signed-Test');
    // apt's reason: the signature's key is not in the repo's keyring.
    expect(r.stderr).toMatch(/NO_PUBKEY|not signed/);
    expect(
      sh('docker', ['image', 'inspect', `localhost/airship-test/image-builder:${FAIL_TAG}-debian_bookworm`])
        .status,
    ).not.toBe(0);
  }, 1_800_000);

  it('fails the build naming the repository and both fingerprints when keyring_fingerprint differs', () => {
    const r = cliBuild(manifests('other-pin', 'good.asc', repo.otherFingerprint));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('repo Signed-Test');
    expect(r.stderr).toContain(repo.goodFingerprint);
    expect(r.stderr).toContain(repo.otherFingerprint);
    expect(r.stderr).toContain('keyring_fingerprint');
    // Refused at the key, before the bootstrap: mmdebstrap never ran.
    const log = /^log: (\S+)$/m.exec(r.stderr)?.[1] ?? '';
    expect(readFileSync(log, 'utf8')).not.toContain('$ mmdebstrap');
  }, 600_000);

  it('a k8s profile build that cannot reach the Kubernetes repository stops at its key, saying what to set', () => {
    // This machine reaches only Debian's archive and npm: the bundled profile's key host does not resolve.
    const dir = join(work, 'profile');
    cpSync(TEST_MANIFESTS, dir, { recursive: true });
    const r = runCli(['build'], {
      WORKDIR: dir,
      PROFILE: 'k8s-1.21',
      IMAGE_BUILDER_CACHE: cache,
      DOCKER_REGISTRY: 'localhost',
      IMAGE_PREFIX: 'airship-test',
      IMAGE_TAG: FAIL_TAG,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      'rootfs stage failed: repo Kubernetes: cannot download its key from https://packages.cloud.google.com/apt/doc/apt-key.gpg',
    );
    expect(r.stderr).toContain('set PROXY (and NO_PROXY)');
    expect(r.stderr).toContain(
      'point repo Kubernetes at a mirror that serves it: its `source` and `keyring_url`',
    );
    const log = /^log: (\S+)$/m.exec(r.stderr)?.[1] ?? '';
    expect(readFileSync(log, 'utf8')).not.toContain('$ mmdebstrap');
  }, 600_000);
});
