/**
 * The original's bundle variables through the CLI: QCOW_BUNDLE given as a path (what `config --json`
 * resolves it to), and one `cut-image --type qcow` with QCOW_BUNDLE_DIRS naming two bundle folders and IMAGE
 * naming the image to cut from: each folder's QCOW2 lands in its own OUT_DIR sub-folder, with the partition
 * layout of its own folder, cut from the given image (two cuts, side by side, no boot).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtImage, TEST_CACHE, TEST_MANIFESTS } from '../../helpers/built-image.js';
import { ROOT, runCli } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'aib-bundle-dirs-'));
const manifests = join(work, 'site', 'manifests');
const out = join(work, 'out');
const IMAGE = `localhost/airship-test/given-image:dirs${process.pid}`;

beforeAll(async () => {
  cpSync(TEST_MANIFESTS, manifests, { recursive: true });
  const bundled = join(ROOT, 'defaults/manifests/qcow-bundle/control-plane');
  for (const [folder, capacity] of [
    ['qcow-bundle', '8G'],
    ['qcow-bundle-k8s', '9G'],
  ] as const) {
    const dir = join(manifests, folder, 'control-plane');
    mkdirSync(dir, { recursive: true });
    cpSync(join(bundled, 'osconfig-vars.yaml'), join(dir, 'osconfig-vars.yaml'));
    writeFileSync(join(dir, 'qcow-vars.yaml'), `qcow_capacity: ${capacity}\n`);
  }
  const { imageId } = await builtImage();
  expect(spawnSync('docker', ['tag', imageId, IMAGE]).status).toBe(0);
}, 3_600_000);

afterAll(() => {
  spawnSync('docker', ['rmi', IMAGE]);
  rmSync(work, { recursive: true, force: true });
});

const env = (extra: Record<string, string>) => ({
  WORKDIR: manifests,
  IMAGE_BUILDER_CACHE: TEST_CACHE,
  OUT_DIR: out,
  BOOT_TIMEOUT: '0',
  ...extra,
});

describe('QCOW_BUNDLE, QCOW_BUNDLE_DIRS and IMAGE through the CLI', () => {
  it('QCOW_BUNDLE as a path into the manifests folder selects that folder', () => {
    const r = runCli(['config', '--json'], env({ QCOW_BUNDLE: join(manifests, 'qcow-bundle-k8s') }));
    expect(r.status, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as {
      qcowBundles: { name: string; folder: string; dir: string; qcow: { qcow_capacity: string } }[];
    };
    expect(c.qcowBundles.map((b) => [b.folder, b.name, b.qcow.qcow_capacity, b.dir])).toEqual([
      ['qcow-bundle-k8s', 'control-plane', '9G', join(manifests, 'qcow-bundle-k8s/control-plane')],
    ]);
  });

  it('cuts each QCOW_BUNDLE_DIRS folder into its own output folder, from IMAGE', () => {
    const r = runCli(
      ['cut-image', '--type', 'qcow'],
      env({ QCOW_BUNDLE_DIRS: 'qcow-bundle,qcow-bundle-k8s', IMAGE, DOCKER_REGISTRY: 'not-used.invalid' }),
    );
    expect(r.status, r.stderr).toBe(0);
    for (const [folder, size] of [
      ['qcow-bundle', 8],
      ['qcow-bundle-k8s', 9],
    ] as const) {
      const file = join(out, folder, 'control-plane.qcow2');
      expect(r.stdout).toContain(`${file} cut in`);
      const info = JSON.parse(
        spawnSync('qemu-img', ['info', '--output=json', file], { encoding: 'utf8' }).stdout,
      ) as { 'virtual-size': number };
      expect(info['virtual-size']).toBe(size * 1024 ** 3);
      const profile = JSON.parse(readFileSync(join(out, folder, 'control-plane.json'), 'utf8')) as {
        image: { ref: string };
      };
      expect(profile.image.ref).toBe(IMAGE);
    }
    expect(existsSync(join(out, 'control-plane.qcow2'))).toBe(false);
  }, 1_800_000);
});
