import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyDataExtents } from '../../../src/qcow2/copy-extents.js';

const work = mkdtempSync(join(tmpdir(), 'qcow2-copy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MiB = 1 << 20;

function sparse(name: string, size: number, writes: [number, Buffer][]): string {
  const file = join(work, name);
  const fd = openSync(file, 'w');
  for (const [at, b] of writes) writeSync(fd, b, 0, b.length, at);
  closeSync(fd);
  execFileSync('truncate', ['-s', String(size), file]);
  return file;
}

describe('copying a partition image by data extents', () => {
  it('puts every byte at the offset, keeps what was there and leaves the holes unwritten', async () => {
    const text = Buffer.from('partition data '.repeat(7000));
    const src = sparse('part.img', 8 * MiB, [
      [0, text.subarray(0, 4096)],
      [3 * MiB + 4096, text],
      [8 * MiB - 4096, text.subarray(0, 4096)],
    ]);
    const mbr = Buffer.from('boot sector stays');
    const dst = sparse('disk.raw', 64 * MiB, [[0, mbr]]);
    const offset = 2049 * 512;
    const copied = await copyDataExtents(src, dst, offset);
    // Only the extents: the three writes, rounded out to file system blocks.
    expect(copied).toBeGreaterThanOrEqual(4096 + text.length + 4096);
    expect(copied).toBeLessThan(256 * 1024);
    const disk = readFileSync(dst);
    expect(disk.subarray(0, mbr.length).equals(mbr)).toBe(true);
    expect(disk.subarray(offset, offset + 8 * MiB).equals(readFileSync(src))).toBe(true);
    expect(disk.length).toBe(64 * MiB);
    expect(statSync(dst).blocks * 512).toBeLessThan(MiB);
  });

  it('names the missing file', async () => {
    const dst = sparse('disk2.raw', MiB, []);
    await expect(copyDataExtents(join(work, 'nope.img'), dst, 0)).rejects.toMatchObject({
      code: 'ENOENT',
      path: join(work, 'nope.img'),
    });
  });
});
