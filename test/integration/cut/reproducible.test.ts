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
import { cutTestConfig } from './fixture-config.js';
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

/** Cuts both bundles into `sub` with the cut cache of `cache`; `reused` collects the reuse messages. */
async function cutOnce(sub: string, cache: string, reused: string[] = []): Promise<Map<string, Buffer>> {
  const settings = {
    imageType: 'qcow' as const,
    outDir: join(work, sub),
    cacheDir: join(work, cache),
    // Each cache its own cut cache: cold cuts stay cold (CUT_DIR=auto would share one in memory).
    cutDir: join(work, cache),
    bootTimeout: 0,
  };
  const config = cutTestConfig({ imageRef, settings });
  const out = await cutImage({
    settings,
    config,
    onProgress: (e) => {
      if (e.kind === 'reused' || /reused/.test(e.message ?? '')) reused.push(`${e.stage}: ${e.message}`);
    },
  });
  return new Map(out.map((a) => [a.file.split('/').pop() ?? a.file, readFileSync(a.file)]));
}

function expectSameBytes(a: Map<string, Buffer>, b: Map<string, Buffer>): void {
  expect([...a.keys()].sort()).toEqual(['control-plane.qcow2', 'data-plane.qcow2']);
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
});
