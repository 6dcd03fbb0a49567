/**
 * Stage reuse and failures with real tools: a rebuild with only osconfig-vars.yaml changed reuses the rootfs;
 * bad manifests fail with stage, cause and log path, and leave no container and no tagged image.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildError, build, type ProgressEvent, SESSION_LABEL, type Settings } from '../../../src/api.js';
import { leaseTag } from '../../../src/lease.js';
import { testBuildConfig } from '../../helpers/build-config.js';
import { builtImage, TEST_MANIFESTS, TEST_SETTINGS } from '../../helpers/built-image.js';

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const work = mkdtempSync(join(tmpdir(), 'aib-build-manifests-'));
const tags: string[] = [];

/** A copy of the test manifests with `edit` applied to one file. */
function manifests(name: string, file: string, edit: (text: string) => string): string {
  const dir = join(work, name);
  cpSync(TEST_MANIFESTS, dir, { recursive: true });
  const p = join(dir, 'rootfs', file);
  writeFileSync(p, edit(readFileSync(p, 'utf8')));
  return dir;
}

function settingsFor(tag: string): Partial<Settings> {
  const s = { ...TEST_SETTINGS, imageTag: tag };
  tags.push(`localhost/airship-test/image-builder:${tag}-debian_bookworm`);
  return s;
}

function myContainers(): string[] {
  const ps = sh('docker', [
    'ps',
    '-a',
    '--filter',
    `label=${SESSION_LABEL}`,
    '--format',
    `{{.Label "${SESSION_LABEL}"}}`,
  ]);
  return ps.stdout.split('\n').filter((s) => s.includes(leaseTag()));
}

async function expectFailure(dir: string, tag: string, stage: string, cause: RegExp): Promise<void> {
  const s = settingsFor(tag);
  const err = await build({ config: await testBuildConfig(dir, s) }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BuildError);
  const e = err as BuildError;
  expect(e.details.stage).toBe(stage);
  expect(e.message).toMatch(new RegExp(`^${stage} stage failed`));
  expect(e.message).toMatch(cause);
  expect(e.details.logFile && existsSync(e.details.logFile)).toBe(true);
  expect(e.message).toContain(`log: ${e.details.logFile}`);
  expect(myContainers()).toEqual([]);
  expect(sh('docker', ['image', 'inspect', tags[tags.length - 1] ?? '']).status).not.toBe(0);
}

beforeAll(async () => {
  await builtImage();
}, 3_600_000);

afterAll(() => {
  for (const t of tags) sh('docker', ['rmi', t]);
  rmSync(work, { recursive: true, force: true });
});

describe('build: reuse', () => {
  it('reuses rootfs and image when only osconfig-vars.yaml changed, and says so', async () => {
    // A value no earlier run used: the stage cache outlives a run, and an input seen before is rightly reused.
    const backlog = String(4096 + (Date.now() % 1_000_000));
    const dir = manifests('osconfig-changed', 'osconfig-vars.yaml', (t) =>
      t.replace('sysctl:\n', `sysctl:\n  - name: net.core.somaxconn\n    value: '${backlog}'\n`),
    );
    const events: ProgressEvent[] = [];
    const r = await build({
      config: await testBuildConfig(dir, settingsFor('reuse')),
      onProgress: (e) => events.push(e),
    });
    expect(events).toContainEqual({ stage: 'rootfs', kind: 'reused', message: 'reused (inputs unchanged)' });
    expect(events).toContainEqual({ stage: 'image', kind: 'reused', message: 'reused (inputs unchanged)' });
    expect(r.timings.map((t) => `${t.stage}:${t.outcome}`)).toEqual([
      'rootfs:reused',
      'image:reused',
      'osconfig:built',
      'livecd:built',
    ]);
    const out = sh('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'cat',
      r.imageRef,
      '/etc/sysctl.d/60-airship.conf',
    ]);
    expect(out.stdout).toContain(`net.core.somaxconn = ${backlog}`);
  }, 3_600_000);
});

describe('build: SKIP_* settings', () => {
  it('reuses the previous results of skipped stages', async () => {
    const events: ProgressEvent[] = [];
    const s = {
      ...settingsFor('skipped'),
      skipMultiRole: true,
      skipOsconfigRole: true,
      skipLivecdcontentRole: true,
    };
    const r = await build({
      config: await testBuildConfig(TEST_MANIFESTS, s),
      onProgress: (e) => events.push(e),
    });
    expect(r.timings.map((t) => t.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(events.filter((e) => e.kind === 'skipped').map((e) => e.stage)).toEqual([
      'rootfs',
      'image',
      'osconfig',
      'livecd',
    ]);
    expect(sh('docker', ['image', 'inspect', r.imageRef]).status).toBe(0);
  }, 600_000);

  it('fails when a skipped stage has no previous result', async () => {
    const empty = join(work, 'empty-cache');
    const s = { ...settingsFor('noprev'), cacheDir: empty, skipMultistrap: true };
    const err = await build({ config: await testBuildConfig(TEST_MANIFESTS, s) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BuildError);
    expect((err as BuildError).details.stage).toBe('rootfs');
    expect((err as BuildError).message).toContain(
      'SKIP_MULTISTRAP is set but there is no previous rootfs result',
    );
  }, 600_000);
});

describe('build: bad manifests', () => {
  it('fails in rootfs on an unknown package', async () => {
    const dir = manifests('unknown-package', 'multistrap-vars.yaml', (t) =>
      t.replace('      - procps\n', '      - procps\n      - airship-no-such-package\n'),
    );
    await expectFailure(dir, 'badpkg', 'rootfs', /Unable to locate package airship-no-such-package/);
  }, 1_800_000);

  it('fails in rootfs on an unreachable repo', async () => {
    const dir = manifests('unreachable', 'multistrap-vars.yaml', (t) =>
      t.replace(/^( +)source: host$/m, '$1source: http://127.0.0.1:9/debian'),
    );
    await expectFailure(dir, 'badrepo', 'rootfs', /127\.0\.0\.1:9/);
  }, 1_800_000);

  it('fails in osconfig on a failing user script, with its output', async () => {
    const dir = manifests('bad-script', 'osconfig-vars.yaml', (t) =>
      t.replace(
        '      echo "user script ran" > /etc/airship-user-script\n',
        '      echo "script says no" >&2\n      exit 3\n',
      ),
    );
    await expectFailure(dir, 'badscript', 'osconfig', /Run user scripts.*script says no/s);
  }, 1_800_000);
});

describe('build: interrupted', () => {
  it('removes its container and tags nothing when aborted during osconfig', async () => {
    const dir = manifests('aborted', 'osconfig-vars.yaml', (t) =>
      t.replace(
        'kernel.pid_max',
        'kernel.pid_max_abort_test_unused\n    value: "1"\n  - name: kernel.pid_max',
      ),
    );
    const controller = new AbortController();
    const err = await build({
      config: await testBuildConfig(dir, settingsFor('aborted')),
      signal: controller.signal,
      onProgress: (e) => {
        if (e.stage === 'osconfig' && e.kind === 'start') setTimeout(() => controller.abort(), 3000);
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BuildError);
    expect((err as BuildError).details.stage).toBe('osconfig');
    expect((err as BuildError).message).toContain('(interrupted)');
    expect(myContainers()).toEqual([]);
    expect(sh('docker', ['image', 'inspect', tags[tags.length - 1] ?? '']).status).not.toBe(0);
  }, 600_000);
});
