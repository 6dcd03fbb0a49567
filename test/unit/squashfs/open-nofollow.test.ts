/**
 * The directory source's file reads (native readRange, hashFiles, compressTask) open the path the walk
 * recorded as a regular file. A symlink or FIFO swapped in after the walk must be refused, not followed to a
 * host file or waited on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../../src/squashfs/native.js';
import { BLOCKS, joinPaths } from '../../../src/squashfs/protocol.js';

const dir = mkdtempSync(join(tmpdir(), 'open-nofollow-'));
const secret = join(dir, 'host-secret');
const SIZE = 4096;
writeFileSync(secret, Buffer.alloc(SIZE, 'S'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A path the "walk" saw as a regular file of SIZE bytes, then swapped for `kind`. */
function swapped(kind: 'symlink' | 'fifo'): string {
  const p = join(dir, `entry-${kind}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, Buffer.alloc(SIZE, 'f'));
  unlinkSync(p);
  if (kind === 'symlink') symlinkSync(secret, p);
  else execFileSync('mkfifo', [p]);
  return p;
}

const reads: [string, (path: string) => void][] = [
  ['readRange', (p) => native().readRange(p, 0, new Uint8Array(SIZE))],
  ['hashFiles', (p) => native().hashFiles(joinPaths([p]), Float64Array.of(SIZE), new Uint8Array(32))],
  [
    'compressTask',
    (p) =>
      new (native().BlockCompressor)({ comp: 'gzip', blockSize: 131072 }).compressTask(
        Float64Array.of(BLOCKS, 0, 0, SIZE, SIZE),
        joinPaths([p]),
        [],
        new Uint8Array(131072),
        new Uint32Array(3),
      ),
  ],
];

describe('directory-source file opens', () => {
  it.each(reads)('%s refuses a symlink swapped in after the walk (ELOOP)', (_name, read) => {
    expect(() => read(swapped('symlink'))).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  });

  it.each(reads)('%s refuses a FIFO swapped in after the walk without blocking', (_name, read) => {
    expect(() => read(swapped('fifo'))).toThrow(expect.objectContaining({ code: 'ENOTREG' }));
  });

  it('scanDir refuses a folder swapped for a symlink after the walk', () => {
    const p = join(dir, 'swapped-folder');
    symlinkSync(dir, p);
    // O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR.
    expect(() => native().scanDir(p, false)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(native().scanDir(dir, false).ends.length).toBeGreaterThan(0);
  });

  it.each(reads)('%s still reads a regular file', (_name, read) => {
    const p = join(dir, `plain-${_name}`);
    writeFileSync(p, Buffer.alloc(SIZE, 'p'));
    expect(() => read(p)).not.toThrow();
  });
});
