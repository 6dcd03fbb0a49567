/**
 * Reproducible QCOW2s: two cuts of one built image with one SOURCE_DATE_EPOCH give the same bytes, for an
 * ext4 root with a separate /boot and the vfat ESP (zlib) and for an xfs root (zstd). What used to differ:
 * inode ctimes and atimes mke2fs copies from the extracted tree, and the mtimes of what the cut and the qcow
 * osconfig run write. A re-cut from the cut cache (tree and osconfig layers reused) gives the same bytes as
 * the cold cuts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutImage } from '../../../src/api.js';
import type { Partition } from '../../../src/config/types.js';
import { controlPlaneLayout, cutTestConfig } from './fixture-config.js';
import { cutTestImage } from './image.js';

let work = '';
let imageRef = '';
const epoch = '1767225600';
let saved: string | undefined;

/** A private tag on the test image's id: other test runs may re-point the shared tag between the two cuts. */
const PINNED = `localhost/aib-repro/image-builder:p${process.pid}-debian_bookworm`;

beforeAll(async () => {
  const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', await cutTestImage()], {
    encoding: 'utf8',
  }).trim();
  execFileSync('docker', ['tag', id, PINNED]);
  imageRef = PINNED;
  work = await mkdtemp('/var/tmp/cut-repro-');
  saved = process.env.SOURCE_DATE_EPOCH;
  process.env.SOURCE_DATE_EPOCH = epoch;
}, 3_600_000);
afterAll(() => {
  spawnSync('docker', ['rmi', PINNED]);
  if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
  else process.env.SOURCE_DATE_EPOCH = saved;
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Cuts the bundles (by default both fixture bundles) into `sub` with the cut cache of `cache`; `reused` collects
 * the reuse messages.
 */
async function cutOnce(
  sub: string,
  cache: string,
  reused: string[] = [],
  bundles?: Record<string, Partition[]>,
): Promise<Map<string, Buffer>> {
  const settings = {
    imageType: 'qcow' as const,
    outDir: join(work, sub),
    cacheDir: join(work, cache),
    // Each cache its own cut cache: cold cuts stay cold (CUT_DIR=auto would share one in memory).
    cutDir: join(work, cache),
    bootTimeout: 0,
  };
  const config = cutTestConfig({ imageRef, settings, ...(bundles ? { bundles } : {}) });
  // Each bundle's own motd: their osconfig layers differ.
  for (const b of config.qcowBundles) b.osconfig.banners.motd = `bundle ${b.name}\n`;
  const out = await cutImage({
    settings,
    config,
    onProgress: (e) => {
      if (e.kind === 'reused' || /reused|not copied again/.test(e.message ?? ''))
        reused.push(`${e.stage}: ${e.message}`);
    },
  });
  return new Map(out.map((a) => [a.file.split('/').pop() ?? a.file, readFileSync(a.file)]));
}

function expectSameBytes(
  a: Map<string, Buffer>,
  b: Map<string, Buffer>,
  names = ['control-plane.qcow2', 'data-plane.qcow2'],
): void {
  expect([...a.keys()].sort()).toEqual(names);
  for (const [name, bytes] of a) {
    const other = b.get(name);
    expect(other, name).toBeDefined();
    // Compared by length and first differing offset: a Buffer diff would print megabytes.
    let at = -1;
    const n = Math.min(bytes.length, other?.length ?? 0);
    for (let k = 0; k < n; k++)
      if (bytes[k] !== other?.[k]) {
        at = k;
        break;
      }
    expect({ name, length: other?.length, firstDifference: at }).toEqual({
      name,
      length: bytes.length,
      firstDifference: -1,
    });
  }
}

describe('cut-image --type qcow, reproducible', () => {
  it('gives byte-identical QCOW2s for two cuts of one image with one SOURCE_DATE_EPOCH, and for a re-cut from the cut cache', async () => {
    const a = await cutOnce('a', 'cache-a');
    const b = await cutOnce('b', 'cache-b');
    expectSameBytes(a, b);
    const reused: string[] = [];
    const c = await cutOnce('c', 'cache-a', reused);
    expect(reused.sort()).toEqual([
      expect.stringMatching(/^extract: tree of sha256:[0-9a-f]{64} unpacked by an earlier cut$/),
      'qcow:control-plane: osconfig layer reused from an earlier cut of this image and bundle config',
      'qcow:data-plane: osconfig layer reused from an earlier cut of this image and bundle config',
    ]);
    expectSameBytes(a, c);
  }, 1_800_000);

  it('gives the same bytes for a bundle cut beside another of its layout (its root filled against that one) as cut alone', async () => {
    const twins = { 'control-plane': controlPlaneLayout(), 'control-plane-b': controlPlaneLayout() };
    const names = ['control-plane-b.qcow2', 'control-plane.qcow2'];
    const notes: string[] = [];
    const both = await cutOnce('twins', 'cache-twins', notes, twins);
    // One of the two (whichever began its root first) filled it against the other's disk.
    const skipped = notes.filter((n) => /: \/: \d+ MiB of files not copied again/.test(n));
    expect(skipped).toHaveLength(1);
    expect(Number(/(\d+) MiB/.exec(skipped[0] ?? '')?.[1])).toBeGreaterThan(100);
    const alone = new Map<string, Buffer>();
    for (const [name, layout] of Object.entries(twins)) {
      const one = await cutOnce(`alone-${name}`, 'cache-twins', [], { [name]: layout });
      for (const [file, bytes] of one) alone.set(file, bytes);
    }
    expectSameBytes(both, alone, names);
  }, 1_800_000);
});
