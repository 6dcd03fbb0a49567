/**
 * One tree, two sources: the directory and a tar of it in the order the directory source walks give the same
 * image, byte for byte. Copies, files with blocks and a tail, fragment blocks that close between a file's blocks
 * and its tail (4 KiB blocks make many), sparse blocks, hard links and xattrs all take part.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { squash } from '../../../src/api.js';
import { compare, describe, MTIME, makeTree, walkOrder } from './tree.js';

const work = mkdtempSync(join(tmpdir(), 'sqfs-identity-'));
const src = join(work, 'src');
const tarFile = join(work, 'src.tar');

beforeAll(() => {
  makeTree(src, { wide: 300 });
  // Same-size files that differ and copies (the copy rule must agree too), and files of blocks and a tail of
  // 1.5-3 KiB: with 4 KiB blocks, fragment blocks fill up between a file's blocks and its tail.
  const extra = (name: string, data: string) => {
    writeFileSync(join(src, name), data);
    utimesSync(join(src, name), MTIME, MTIME);
  };
  extra('same-size-1', 'a'.repeat(9000));
  extra('same-size-2', 'b'.repeat(9000));
  extra('same-size-3', 'a'.repeat(9000));
  for (let i = 0; i < 40; i++)
    extra(`tails-${i}`, `${i} `.repeat(2000 + 97 * i).slice(0, 8192 + 1500 + 37 * i));
  const list = join(work, 'list');
  writeFileSync(list, Buffer.concat(walkOrder(src).map((p) => Buffer.concat([p, Buffer.from([0])]))));
  execFileSync('tar', [
    ...['--xattrs', '--xattrs-include=*', '--numeric-owner', '--no-recursion', '--null'],
    ...['-cf', tarFile, '-C', src, '-T', list],
  ]);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

for (const [comp, blockSize] of [
  ['gzip', 4096],
  ['zstd', 131072],
  ['lz4', 4096],
] as const) {
  it(`${comp}, ${blockSize}-byte blocks: directory and tar give the same bytes`, async () => {
    const fromDir = join(work, `dir-${comp}.sqfs`);
    const fromTar = join(work, `tar-${comp}.sqfs`);
    const opts = { comp, blockSize, processors: 2, sourceDateEpoch: MTIME };
    const a = await squash({ source: src, out: fromDir, ...opts });
    const b = await squash({ source: createReadStream(tarFile), out: fromTar, ...opts });
    expect(a.duplicateFiles).toBeGreaterThan(0);
    expect(a.fragments).toBeGreaterThan(blockSize === 4096 ? 5 : 0);
    expect(b.duplicateFiles).toBe(a.duplicateFiles);
    expect(readFileSync(fromTar).equals(readFileSync(fromDir))).toBe(true);
    // And the image is the tree: unsquashfs reads it back whole.
    const out = join(work, `x-${comp}`);
    execFileSync('unsquashfs', ['-q', '-n', '-d', out, fromTar], { stdio: 'ignore' });
    expect(compare(describe(src), describe(out), true)).toEqual([]);
    rmSync(out, { recursive: true });
  });
}
