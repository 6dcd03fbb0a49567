/**
 * Reproducible builds: two `build` runs of the test manifests in separate caches, with one SOURCE_DATE_EPOCH,
 * give the same live-CD squashfs, /livecd boot images, ISO and QCOW2 bytes. The first starts from nothing
 * (only the downloaded .debs are shared, as a package proxy would); the second is given the first's bootstrap
 * tar (mmdebstrap's own output, reproducible with SOURCE_DATE_EPOCH) and runs everything after it itself:
 * the import, the Ansible role (where the crash initramfs and the users' password dates were made from the
 * clock), the squashfs and the GRUB images (grub-mkstandalone stamped its memdisk with the time). Both use one
 * image reference (the cut derives filesystem UUIDs from it), so each run builds and cuts before the next
 * builds over the tag. The README promises this; the rerun and cut tests only show it for one build's stages.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CACHE, TEST_MANIFESTS } from '../../helpers/built-image.js';
import { type CliResult, runCliAsync } from '../../helpers/cli.js';

const EPOCH = '1735689600';
const PREFIX = 'airship-repro';
const IMAGE_REF = `localhost/${PREFIX}/image-builder:repro-debian_bookworm`;
const RUNS = ['a', 'b'] as const;
type Run = (typeof RUNS)[number];
const ARTIFACTS = ['ephemeral.iso', 'control-plane.qcow2', 'data-plane.qcow2'];

interface RunResult {
  build: CliResult;
  /** sha256 of every file under the image's /livecd. */
  livecd: string;
  cuts: CliResult[];
}

const work = mkdtempSync('/var/tmp/aib-repro-build-');
const results = new Map<Run, RunResult>();

function env(run: Run): Record<string, string> {
  return {
    WORKDIR: TEST_MANIFESTS,
    IMAGE_BUILDER_CACHE: join(work, run, 'cache'),
    OUT_DIR: join(work, run, 'out'),
    DOCKER_REGISTRY: 'localhost',
    IMAGE_PREFIX: PREFIX,
    IMAGE_TAG: 'repro',
    SOURCE_DATE_EPOCH: EPOCH,
    BOOT_TIMEOUT: '0',
  };
}

function livecdSums(): string {
  const script = 'cd /livecd && find . -type f | LC_ALL=C sort | xargs sha256sum';
  const r = spawnSync(
    'docker',
    ['run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE_REF, '-c', script],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** Gives run `to` the bootstrap of run `from`: its stage record (naming the tar where it is). */
function shareRootfs(from: Run, to: Run): void {
  const dir = join(work, from, 'cache', 'stages', 'rootfs');
  const dest = join(work, to, 'cache', 'stages', 'rootfs');
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(dir)) if (/^[0-9a-f]{64}\.json$/.test(f)) cpSync(join(dir, f), join(dest, f));
}

beforeAll(async () => {
  for (const run of RUNS) {
    const archives = join(TEST_CACHE, 'apt-archives');
    if (existsSync(archives)) cpSync(archives, join(work, run, 'cache', 'apt-archives'), { recursive: true });
    if (run === 'b') shareRootfs('a', 'b');
    const build = await runCliAsync(['build'], env(run));
    if (build.status !== 0) {
      results.set(run, { build, livecd: '', cuts: [] });
      return;
    }
    const cuts = [
      await runCliAsync(['cut-image', '--type', 'iso'], env(run)),
      await runCliAsync(['cut-image', '--type', 'qcow'], env(run)),
    ];
    results.set(run, { build, livecd: livecdSums(), cuts });
  }
}, 3_600_000);

afterAll(async () => {
  // `clean` removes the image and the run's artifacts; the stage images stay, as every build's stage cache does.
  for (const run of RUNS) await runCliAsync(['clean'], env(run));
  rmSync(work, { recursive: true, force: true });
});

describe('two builds with one SOURCE_DATE_EPOCH', () => {
  it('build every stage after the shared bootstrap and give the same /livecd: squashfs and boot images', () => {
    for (const run of RUNS) {
      const r = results.get(run)?.build;
      expect(r?.status, r?.stderr.slice(-3000)).toBe(0);
      const out = (r?.stdout ?? '') + (r?.stderr ?? '');
      expect(out).not.toMatch(/(image|osconfig|livecd): (reused|skipped)/);
      expect(out).toMatch(run === 'a' ? /rootfs: running/ : /rootfs: reused/);
    }
    const [a, b] = RUNS.map((run) => results.get(run)?.livecd ?? '');
    for (const f of [
      'live/filesystem.squashfs',
      'boot/grub/bios.img',
      'boot/grub/efi.img',
      'live/initrd.img',
    ])
      expect(a, f).toContain(`./${f}\n`);
    expect(b).toBe(a);
  });

  it.each(ARTIFACTS)('cut-image of each gives the same %s', (file) => {
    for (const run of RUNS)
      for (const c of results.get(run)?.cuts ?? []) expect(c.status, c.stderr.slice(-3000)).toBe(0);
    const [a, b] = RUNS.map((run) => readFileSync(join(work, run, 'out', file)));
    expect(a?.length).toBeGreaterThan(0);
    expect(a?.equals(b ?? Buffer.alloc(0))).toBe(true);
  });
});
