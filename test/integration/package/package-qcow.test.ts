/**
 * package-qcow, images and clean through the CLI, against the shared test image (under a tag of this file's
 * own, so `clean` removes only that tag), a real Docker Engine and a real registry: Debian's
 * `docker-registry` started on a free port of 127.0.0.1 with its own storage and config, stopped after.
 * One QCOW is cut (package-qcow cuts what is missing); the later cases reuse it.
 *
 * Shown here: the cut-then-package run pushes with PUSH_IMAGE (Docker pushes plain HTTP to 127.0.0.0/8
 * without any insecure-registries setting: the push below is that check); the bundle image is a KRM function
 * that appends a VariableCatalogue built from its profile JSON and the function config's header/configPath,
 * and refuses a malformed ResourceList; a second package-qcow cuts nothing; `images` builds (stages reused),
 * cuts the ISO and packages; `clean` removes what this configuration made and keeps an image it did not make.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtImage, TEST_CACHE, TEST_MANIFESTS } from '../../helpers/built-image.js';
import { runCli } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'aib-package-'));
const out = join(work, 'out');
const TAG = `layout${process.pid}`;
/** The base image under this file's own tag: `clean` may remove it without touching the shared tag. */
const BASE = `localhost/airship-test/image-builder:${TAG}-debian_bookworm`;
let port = 0;
let registry: ChildProcess | undefined;
let bundleRef = '';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    WORKDIR: TEST_MANIFESTS,
    IMAGE_BUILDER_CACHE: TEST_CACHE,
    DOCKER_REGISTRY: `127.0.0.1:${port}`,
    IMAGE_PREFIX: 'airship-test',
    IMAGE_TAG: TAG,
    IMAGE: BASE,
    OUT_DIR: out,
    QCOW_NAMES: 'control-plane',
    BOOT_TIMEOUT: '0',
    ...extra,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function startRegistry(): Promise<void> {
  port = await freePort();
  const config = join(work, 'registry.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(work, 'registry-data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const bin = spawnSync('which', ['docker-registry'], { encoding: 'utf8' }).stdout.trim();
  if (!bin) throw new Error('docker-registry is not installed (scripts/apt-packages.txt lists it)');
  registry = spawn(bin, ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer on 127.0.0.1:${port}`);
}

const LOGS = join(TEST_CACHE, 'logs');
const packageLogs = () =>
  new Set(existsSync(LOGS) ? readdirSync(LOGS).filter((f) => f.startsWith('package-qcow-')) : []);

/** The log of the one package-qcow run made since `before` was listed. */
function newLog(before: Set<string>): string {
  const made = [...packageLogs()].filter((f) => !before.has(f));
  expect(made).toHaveLength(1);
  return readFileSync(join(LOGS, made[0] as string), 'utf8');
}

/** The log line of a step that ended well: timed, with its exit status. */
const doneStep = (name: string) => new RegExp(`^\\S+ step ${name}: done in \\d+\\.\\d s \\(exit 0\\)$`, 'm');

function krm(input: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker', ['run', '-i', '--rm', '--network', 'none', bundleRef], {
    input,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HEADER = [
  'apiVersion: airshipit.org/v1alpha1',
  'kind: VariableCatalogue',
  'metadata:',
  '  name: profile_multistrap',
  '',
].join('\n');

/** A ResourceList like the original's example: one item and a function config with header (and configPath). */
function resourceList(configPath?: string): string {
  const data = [
    '    header: |',
    ...HEADER.trimEnd()
      .split('\n')
      .map((l) => `      ${l}`),
    ...(configPath ? [`    configPath: ${configPath}`] : []),
  ];
  return [
    'apiVersion: config.kubernetes.io/v1',
    'kind: ResourceList',
    'items:',
    '- apiVersion: v1',
    '  kind: ConfigMap',
    '  metadata:',
    '    name: site-values',
    '  data:',
    '    k: v',
    'functionConfig:',
    '  apiVersion: builtin',
    '  kind: ConfigMap',
    '  metadata:',
    '    name: qcow-bundle-info',
    '  data:',
    ...data,
    '',
  ].join('\n');
}

beforeAll(async () => {
  const { imageId } = await builtImage();
  expect(spawnSync('docker', ['tag', imageId, BASE]).status).toBe(0);
  await startRegistry();
}, 3_600_000);

afterAll(() => {
  registry?.kill('SIGTERM');
  for (const ref of [BASE, bundleRef, `127.0.0.1:${port}/airship-test/qcow-bundle:${TAG}-debian_bookworm`])
    if (ref) spawnSync('docker', ['rmi', ref]);
  rmSync(work, { recursive: true, force: true });
});

describe('package-qcow', () => {
  it('cuts the missing QCOW, makes the bundle image and pushes it to the registry', async () => {
    const before = packageLogs();
    const r = runCli(['package-qcow'], env({ PUSH_IMAGE: 'true' }));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('cutting first: control-plane');
    // Run by the step runner: each step timed in the run's log, the run's start and end around them.
    const log = newLog(before);
    for (const step of ['check', 'cut', 'package:qcow-bundle', 'push:qcow-bundle'])
      expect(log).toMatch(doneStep(step));
    expect(log).toMatch(/package-qcow: started \(pid \d+, session /);
    expect(log).toMatch(/package-qcow: finished; steps took \d+\.\d s/);
    bundleRef = `127.0.0.1:${port}/airship-test/qcow-bundle:${TAG}-debian_bookworm`;
    expect(r.stdout).toMatch(
      new RegExp(`^${bundleRef.replace(/[.]/g, '\\.')} sha256:[0-9a-f]{64} pushed\\n$`),
    );
    expect(existsSync(join(out, 'control-plane.qcow2'))).toBe(true);
    expect(existsSync(join(out, 'data-plane.qcow2'))).toBe(false);
    const tags = (await (
      await fetch(`http://127.0.0.1:${port}/v2/airship-test/qcow-bundle/tags/list`)
    ).json()) as { tags: string[] };
    expect(tags.tags).toContain(`${TAG}-debian_bookworm`);
    const ls = spawnSync('docker', ['run', '--rm', '--entrypoint', 'ls', bundleRef, '/qcows', '/profiles'], {
      encoding: 'utf8',
    });
    expect(ls.stdout).toContain('control-plane.qcow2\ncontrol-plane.qcow2.md5sum');
    expect(ls.stdout).toContain('profile_control-plane.json\nprofile_multistrap.json');
  }, 1_800_000);

  it('is a KRM function: the list comes back with a VariableCatalogue from the profile JSON', () => {
    const r = krm(resourceList());
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const list = parse(r.stdout) as { kind: string; items: Record<string, unknown>[] };
    expect(list.kind).toBe('ResourceList');
    expect(list.items).toHaveLength(2);
    expect(list.items[0]).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'site-values' },
      data: { k: 'v' },
    });
    const cat = list.items[1] as Record<string, unknown>;
    expect(cat.apiVersion).toBe('airshipit.org/v1alpha1');
    expect(cat.kind).toBe('VariableCatalogue');
    expect(cat.metadata).toEqual({ name: 'profile_multistrap' });
    expect(cat.image_builder_image).toBe(BASE);
    expect(cat.distro).toBe('debian_bookworm');
    expect((cat.kdump_tools as { crashkernel: string }).crashkernel).toMatch(/\S/);
    expect(Array.isArray(cat.repos)).toBe(true);
  });

  it("reads the configPath the function config names (a QCOW's own profile)", () => {
    const r = krm(resourceList('/profiles/profile_control-plane.json'));
    expect(r.status).toBe(0);
    const cat = (parse(r.stdout) as { items: Record<string, unknown>[] }).items[1]!;
    expect(cat.qcow_name).toBe('control-plane');
    expect(cat.qcow_capacity).toMatch(/^\d+G$/);
    expect(cat.kind).toBe('VariableCatalogue');
  });

  it.each([
    ['not YAML', 'items: [\n', /variable-catalogue: stdin is not YAML/],
    ['not a ResourceList', 'kind: ConfigMap\n', /stdin is not a ResourceList/],
    ['items not a list', 'kind: ResourceList\nitems: {a: 1}\n', /ResourceList\.items must be a list/],
    [
      'a missing configPath',
      resourceList('/profiles/absent.json'),
      /cannot read configPath \/profiles\/absent\.json: No such file or directory/,
    ],
  ])('exits non-zero with a clear message for %s', (_what, input, message) => {
    const r = krm(input);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('cuts nothing when the QCOW is there and was cut from this image', () => {
    const before = packageLogs();
    const r = runCli(['package-qcow'], env());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('cutting first');
    expect(r.stdout).not.toContain('pushed');
    const log = newLog(before);
    expect(log).toMatch(doneStep('package:qcow-bundle'));
    expect(log).not.toContain('step cut:');
    expect(log).not.toContain('step push:');
    // The step shows in the progress on stderr, by its name.
    expect(r.stderr).toContain('package:qcow-bundle');
  }, 600_000);
});

describe('images and clean', () => {
  it('images: build (reused), ISO, then every bundle packaged', () => {
    const r = runCli(['images'], env());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^${BASE} sha256:`));
    expect(r.stdout).toMatch(new RegExp(`^${out}/[^/\\n]+\\.iso$`, 'm'));
    expect(r.stdout).toContain(`${bundleRef} sha256:`);
    expect(r.stderr).not.toContain('cutting first');
  }, 1_800_000);

  it('clean: refuses an invalid bundle list before removing anything', () => {
    const r = runCli(['clean'], env({ QCOW_BUNDLE_DIRS: 'qcow-bundle qcow-bundle-absent' }));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('QCOW_BUNDLE_DIRS');
    expect(r.stderr).toContain('qcow-bundle-absent');
    expect(existsSync(join(out, 'control-plane.qcow2'))).toBe(true);
  }, 600_000);

  it('clean: removes this configuration’s artifacts and images, and nothing of the shared tag', () => {
    const c = runCli(['clean'], env());
    expect(c.status, c.stderr).toBe(0);
    for (const f of ['control-plane.qcow2', 'control-plane.qcow2.md5sum', 'control-plane.json'])
      expect(existsSync(join(out, f))).toBe(false);
    expect(readdirSync(out).filter((f) => f.endsWith('.iso'))).toEqual([]);
    expect(c.stdout).toContain(`removed image ${bundleRef}`);
    expect(c.stdout).toContain(`removed image ${BASE}`);
    expect(spawnSync('docker', ['image', 'inspect', bundleRef]).status).not.toBe(0);
    expect(spawnSync('docker', ['image', 'inspect', BASE]).status).not.toBe(0);
    expect(
      spawnSync('docker', ['image', 'inspect', 'localhost/airship-test/image-builder:itest-debian_bookworm'])
        .status,
    ).toBe(0);
  }, 600_000);

  it('clean keeps an image under its references that it did not make', () => {
    const imp = spawnSync('docker', ['import', '-', BASE], { input: Buffer.alloc(1024) });
    expect(imp.status).toBe(0);
    const c = runCli(['clean'], env());
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toContain(`kept image ${BASE} (not made by image-builder)`);
    expect(spawnSync('docker', ['image', 'inspect', BASE]).status).toBe(0);
  }, 600_000);
});
