/**
 * The addon's ext4 fill, read back by independent readers: e2fsck, the kernel's ext4 driver (loop mount at the
 * partition's offset) and debugfs; and the same tree through `mke2fs -d` for parity.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, describe as suite, vi } from 'vitest';
import { mkExt4 } from '../../../src/engine/mkfs.js';
import { fillExt4 } from '../../../src/stages/ext4-fill.js';
import { compare, describe, MTIME, makeTree } from '../squashfs/tree.js';

const work = mkdtempSync(join(tmpdir(), 'ext4-fill-'));
const src = join(work, 'src');
// Not a multiple of the 4 KiB block: only a 512-byte sector boundary, as a partition may start.
const OFFSET = 3 * 1024 * 1024 + 7 * 512;
const BYTES = 96 * 1024 * 1024;
const UUID = '0b5e6f1c-3a57-4d38-9c1e-5b8a2f7d9e01';
let want: ReturnType<typeof describe>;

function blankDisk(name: string): string {
  const disk = join(work, name);
  writeFileSync(disk, '');
  truncateSync(disk, OFFSET + BYTES + 1024 * 1024);
  return disk;
}

/** A fresh sparse disk with an empty ext4 at OFFSET. */
async function emptyExt4(name: string, epoch: number): Promise<string> {
  const disk = blankDisk(name);
  await mkExt4({
    file: disk,
    at: { offset: OFFSET, bytes: BYTES },
    uuid: UUID,
    sourceDateEpoch: epoch,
    fakerootState: join(work, 'unused.state'),
  });
  return disk;
}

/** The same disk made by `mke2fs -d` from `dir`, the way the cut made it before the fill. */
function mke2fsFilled(name: string, dir: string): string {
  const disk = blankDisk(name);
  execFileSync(
    'mke2fs',
    [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-U',
      UUID,
      '-E',
      `root_owner=0:0,offset=${OFFSET}`,
      '-d',
      dir,
      disk,
      `${BYTES / 1024}k`,
    ],
    { stdio: 'pipe' },
  );
  return disk;
}

/** The fill of the ext4 at OFFSET in `disk` from `root`, against `base` when given. */
function fillAt(disk: string, root: string, epoch: number, base?: BigUint64Array) {
  return fillExt4({
    disk,
    offset: OFFSET,
    root,
    mount: '/',
    sourceDateEpoch: epoch,
    fakerootState: '',
    ...(base ? { base } : {}),
  });
}

async function filled(name: string, epoch: number, root = src): Promise<string> {
  const disk = await emptyExt4(name, epoch);
  const r = await fillAt(disk, root, epoch);
  expect(r.inodes).toBeGreaterThan(10_000);
  return disk;
}

function fsck(disk: string): string {
  // -n: read only; exit 0 only when nothing at all was found.
  return execFileSync('e2fsck', ['-fn', `${disk}?offset=${OFFSET}`], { stdio: 'pipe' }).toString();
}

function mounted<T>(disk: string, fn: (dir: string) => T): T {
  const mnt = mkdtempSync(join(work, 'mnt-'));
  execFileSync('mount', [
    '-t',
    'ext4',
    '-o',
    `loop,ro,noload,offset=${OFFSET},sizelimit=${BYTES}`,
    disk,
    mnt,
  ]);
  try {
    return fn(mnt);
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true });
  }
}

/** The tree as mounted, without the lost+found folder mke2fs adds. */
function describeMounted(mnt: string): ReturnType<typeof describe> {
  const d = describe(mnt);
  d.delete('/lost+found');
  return d;
}

function partitionDigest(disk: string): string {
  return createHash('sha256')
    .update(readFileSync(disk).subarray(OFFSET, OFFSET + BYTES))
    .digest('hex');
}

beforeAll(() => {
  makeTree(src);
  want = describe(src);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

suite('ext4Fill', () => {
  it('gives the kernel the same tree: types, modes, owners, times, xattrs, hard links, holes, devices', async () => {
    const disk = await filled('same.img', MTIME + 100);
    expect(fsck(disk)).toMatch(/clean|files/);
    mounted(disk, (mnt) => {
      expect(compare(want, describeMounted(mnt))).toEqual([]);
      // The sparse file's holes stay holes: far fewer blocks than its size.
      const st = lstatSync(join(mnt, 'sparse'));
      expect(st.blocks * 512).toBeLessThan(64 * 1024);
      expect(st.size).toBeGreaterThan(30 * 1024 * 1024);
      // atime and ctime are the epoch, whatever the extraction left on the source.
      const file = lstatSync(join(mnt, 'text'));
      expect(file.ctimeMs).toBe((MTIME + 100) * 1000);
      expect(file.atimeMs).toBe((MTIME + 100) * 1000);
    });
  });

  it('matches mke2fs -d of the same tree, read by the kernel', async () => {
    const ours = await filled('ours.img', MTIME + 100);
    const theirs = mke2fsFilled('theirs.img', src);
    const a = mounted(ours, describeMounted);
    const b = mounted(theirs, describeMounted);
    // mke2fs keeps its own root folder (root_owner 0:0, 0755): the root is compared apart.
    expect(compare(b, a, true)).toEqual([]);
  });

  it('clamps later mtimes to the epoch and stamps crtime with it (debugfs)', async () => {
    const epoch = MTIME - 1000;
    const disk = await filled('clamped.img', epoch);
    mounted(disk, (mnt) => {
      expect(lstatSync(join(mnt, 'text')).mtimeMs).toBe(epoch * 1000);
      expect(lstatSync(join(mnt, 'wide')).mtimeMs).toBe(epoch * 1000);
    });
    const stat = execFileSync('debugfs', ['-R', 'stat /one', `${disk}?offset=${OFFSET}`], {
      stdio: 'pipe',
    }).toString();
    const crtime = /crtime: 0x([0-9a-f]+):/.exec(stat);
    expect(Number.parseInt(crtime?.[1] ?? '', 16)).toBe(epoch);
  });

  it('skips the runs a base fill of a hard-linked copy copied to the same place, and only those', async () => {
    const epoch = MTIME + 100;
    const fill = (disk: string, root: string, base?: BigUint64Array) => fillAt(disk, root, epoch, base);
    const tree = join(work, 'base-tree');
    execFileSync('cp', ['-a', src, tree]);
    const a = await emptyExt4('base.img', epoch);
    const first = await fill(a, tree);
    // Another bundle's tree: hard links to the same files, one replaced by other bytes of its size, and one
    // rewritten in place since the base copied it (shared inode; its mtime moved), then chmod-ed and re-linked
    // (metadata only: that alone does not make a file's bytes differ).
    const copy = join(work, 'copy-tree');
    execFileSync('cp', ['-al', tree, copy]);
    const exact2 = lstatSync(join(copy, 'exact2')).size;
    rmSync(join(copy, 'exact2'));
    writeFileSync(join(copy, 'exact2'), Buffer.alloc(exact2, 7));
    const runA = join(copy, 'run-a');
    writeFileSync(runA, Buffer.alloc(lstatSync(runA).size, 9), { flag: 'r+' });
    chmodSync(join(copy, 'text'), 0o600);
    const b = await emptyExt4('follower.img', epoch);
    const second = await fill(b, copy, first.copied);
    const c = await emptyExt4('alone.img', epoch);
    const alone = await fill(c, copy);
    const pairs = second.same ?? new Float64Array();
    let same = 0;
    for (let k = 0; k + 1 < pairs.length; k += 2) same += (pairs[k + 1] as number) - (pairs[k] as number);
    expect(same).toBeGreaterThan(0);
    expect(second.bytes + same).toBe(alone.bytes);
    expect(second.bytes).toBeGreaterThanOrEqual(exact2 + lstatSync(join(copy, 'run-a')).size);
    // The follower's disk with the base's bytes in its `same` ranges is the disk filled alone, byte for byte.
    const bytes = readFileSync(b);
    const base = readFileSync(a);
    for (let k = 0; k + 1 < pairs.length; k += 2) base.copy(bytes, pairs[k], pairs[k], pairs[k + 1]);
    const digest = createHash('sha256')
      .update(bytes.subarray(OFFSET, OFFSET + BYTES))
      .digest('hex');
    expect(digest).toBe(partitionDigest(c));
  });

  it('fills as a program under fakeroot when not root (no record: it is never a base)', async () => {
    const epoch = MTIME + 100;
    const asRoot = await fillAt(await emptyExt4('as-root.img', epoch), src, epoch);
    const state = join(work, 'empty.state');
    writeFileSync(state, '');
    // The tree's files are root's: under fakeroot with an empty state, its stat calls see them as they are (its
    // xattrs the cut sets afterwards, from the state: stages/qcow-filesystem.ts).
    const asUser = vi.spyOn(process, 'getuid').mockReturnValue(1000);
    try {
      const disk = await emptyExt4('as-user.img', epoch);
      const r = await fillExt4({
        disk,
        offset: OFFSET,
        root: src,
        mount: '/',
        sourceDateEpoch: epoch,
        fakerootState: state,
      });
      expect(r).toEqual({ inodes: asRoot.inodes, bytes: asRoot.bytes });
      expect(fsck(disk)).toMatch(/clean|files/);
    } finally {
      asUser.mockRestore();
    }
  });

  it('writes the same bytes for the same tree and epoch', async () => {
    const a = await filled('a.img', MTIME + 100);
    const b = await filled('b.img', MTIME + 100);
    expect(partitionDigest(a)).toBe(partitionDigest(b));
  });
});
