/**
 * Reproducible builds: two `build` runs of the test manifests in separate caches, with one SOURCE_DATE_EPOCH,
 * give the same live-CD squashfs, /livecd boot images, ISO and QCOW2 bytes. Both start from one bootstrap, the
 * shared test image's (given with SKIP_MULTISTRAP, as an operator re-using a bootstrap would; mmdebstrap's own
 * output is reproducible with SOURCE_DATE_EPOCH by its own promise, and a second bootstrap would add minutes
 * and no comparison), and run everything after it themselves: the import, the Ansible role (where the crash
 * initramfs and the users' password dates were made from the clock), the squashfs and the GRUB images
 * (grub-mkstandalone stamped its memdisk with the time). Both use one image reference (the cut derives
 * filesystem UUIDs from it), so each run builds and cuts before the next builds over the tag. The README
 * promises this; the rerun and cut tests only show it for one build's stages.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtImage, TEST_CACHE, TEST_MANIFESTS } from '../../helpers/built-image.js';
import { type CliResult, runCliAsync } from '../../helpers/cli.js';

const EPOCH = '1735689600';
const PREFIX = 'airship-repro';
const IMAGE_REF = `localhost/${PREFIX}/image-builder:repro-debian_bookworm`;
const RUNS = ['a', 'b'] as const;
type Run = (typeof RUNS)[number];
// One QCOW2: the bundled defaults' data-plane bundle has control-plane's layout and no vars of its own, so a
// second cut per build (a minute each) would compare the same code on the same bytes.
const ARTIFACTS = ['ephemeral.iso', 'control-plane.qcow2'];

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
    SKIP_MULTISTRAP: 'true',
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

beforeAll(async () => {
  // The shared test image's bootstrap, as each run's last rootfs result (the record names the tar where it is).
  const { digests } = await builtImage();
  const record = join(TEST_CACHE, 'stages', 'rootfs', `${digests.rootfs}.json`);
  for (const run of RUNS) {
    const dest = join(work, run, 'cache', 'stages', 'rootfs');
    mkdirSync(dest, { recursive: true });
    copyFileSync(record, join(dest, 'latest.json'));
    const build = await runCliAsync(['build'], env(run));
    if (build.status !== 0) {
      results.set(run, { build, livecd: '', cuts: [] });
      return;
    }
    const cuts = [
      await runCliAsync(['cut-image', '--type', 'iso'], env(run)),
      await runCliAsync(['cut-image', '--type', 'qcow', '--qcow-names', 'control-plane'], env(run)),
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
      expect(out).toMatch(/rootfs: skipped/);
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
