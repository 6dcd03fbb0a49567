// A full disk is reported as ENOSPC with the path it hit (libsquashfs says SQFS_ERROR_IO for every failed write,
// and Node names no path for a write through a descriptor), through the CLI, and leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'sqfs-enospc-'));
// 1 MiB: 256 pages for every file on it together.
const full = join(work, 'mnt');

beforeAll(() => {
  mkdirSync(full);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'none', full]);
});
afterAll(() => {
  execFileSync('umount', [full]);
  rmSync(work, { recursive: true, force: true });
});

function source(name: string, dataBytes: number, folders: number): string {
  const dir = join(work, name);
  mkdirSync(dir);
  // Random bytes do not compress: the data region is as large as the file.
  writeFileSync(join(dir, 'data'), randomBytes(dataBytes));
  for (let i = 0; i < folders; i++) mkdirSync(join(dir, `d${i}`));
  return dir;
}

describe('squash onto a full disk', () => {
  it.each([
    // The data blocks, written by the TypeScript side, do not fit.
    [
      'data region',
      () => source('big', 3 << 20, 0),
      (out: string) => `writing ${out} failed (ENOSPC): ENOSPC`,
    ],
    // The data fits with under 500 bytes to spare; the tables (1,500 folders), written by libsquashfs, do not.
    [
      'tables',
      () => source('many-folders', 1_048_000, 1500),
      () => `table failed (ENOSPC: No space left on device): ${full}/.out.sqfs.tmp-`,
    ],
  ])('%s: exit 1, ENOSPC and the path named, no file left', (_, make, message) => {
    const out = join(full, 'out.sqfs');
    const r = runCli(['squash', make(), out, '--comp', 'zstd']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message(out));
    expect(readdirSync(full)).toEqual([]);
  });
});
