/** Builds a tree with every entry type and edge case, and describes trees for comparison. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { native } from '../../../src/squashfs/native.js';

export const MTIME = 1_700_000_000;
/** Data blocks of makeTree's files that repeat a run of run-a's: run-middle's 3 and run-prefix's 2. */
export const SHARED_BLOCKS = 5;
const BS = 128 * 1024;

function setXattr(path: string, name: string, value: Buffer): void {
  execFileSync('python3', [
    '-c',
    'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]))',
    path,
    name,
    value.toString('hex'),
  ]);
}

export function makeTree(root: string, opts: { wide?: number } = {}): void {
  mkdirSync(root, { recursive: true });
  const f = (rel: string, data: Buffer | string, mode = 0o644) => {
    writeFileSync(join(root, rel), data);
    chmodSync(join(root, rel), mode);
  };
  f('empty', '');
  f('one', 'x');
  const rnd = (n: number, seed: number) => {
    const out = Buffer.alloc(n);
    let s = seed;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      out[i] = s >>> 24;
    }
    return out;
  };
  f('exact2', rnd(2 * BS, 1));
  f('over1', rnd(2 * BS + 1, 2));
  f('text', 'hello squashfs\n'.repeat(20000));
  f('dup-a', rnd(BS + 500, 3));
  f('dup-b', rnd(BS + 500, 3));
  // Files whose blocks are a run of run-a's: written once (see SHARED_BLOCKS). run-near differs from run-a in
  // the middle of its second block only and keeps its own blocks (the byte-for-byte check is unit-tested).
  const run = rnd(4 * BS + 100, 5);
  f('run-a', run);
  f('run-middle', run.subarray(BS, 4 * BS));
  const near = Buffer.from(run.subarray(0, 2 * BS));
  near[BS + BS / 2] = (near[BS + BS / 2] as number) ^ 1;
  f('run-near', near);
  f('run-prefix', Buffer.concat([run.subarray(0, 2 * BS), Buffer.from('its own tail')]));
  // Large sparse file: a hole, some data, a hole, a tail.
  const fd = openSync(join(root, 'sparse'), 'w');
  writeSync(fd, rnd(5000, 4), 0, 5000, 40 * BS + 17);
  writeSync(fd, Buffer.from('end'), 0, 3, 300 * BS);
  closeSync(fd);
  f('suid', '#!/bin/sh\n', 0o4755);
  f('sgid', 'g', 0o2755);
  mkdirSync(join(root, 'sticky'));
  chmodSync(join(root, 'sticky'), 0o1777);
  f('hl1', 'linked content\n');
  linkSync(join(root, 'hl1'), join(root, 'hl2'));
  mkdirSync(join(root, 'sub'));
  linkSync(join(root, 'hl1'), join(root, 'sub', 'hl3'));
  symlinkSync('one', join(root, 'sym'));
  symlinkSync('/does/not/exist', join(root, 'dangling'));
  f('a'.repeat(255), 'long name');
  writeFileSync(Buffer.from(`${root}/nonutf8-\xff\xfe`, 'latin1'), 'bytes name');
  execFileSync('mknod', [join(root, 'null'), 'c', '1', '3']);
  execFileSync('mknod', [join(root, 'blk'), 'b', '8', '300']);
  execFileSync('mkfifo', [join(root, 'fifo')]);
  f('owned', 'o');
  lchownSync(join(root, 'owned'), 1234, 5678);
  lchownSync(join(root, 'sym'), 42, 43);
  // Ids that do not compress: the id table must be stored raw (lz4).
  for (const [i, id] of [70001, 81234, 95555, 123456].entries()) {
    f(`owner-${i}`, String(i));
    lchownSync(join(root, `owner-${i}`), id, id + 7);
  }
  f('caps', 'binary with caps');
  setXattr(
    join(root, 'caps'),
    'security.capability',
    Buffer.from('0100000200200000000000000000000000000000', 'hex'),
  );
  setXattr(join(root, 'caps'), 'user.note', Buffer.from('hi'));
  setXattr(join(root, 'sub'), 'user.dir', Buffer.from('d'));
  let deep = join(root, 'deep');
  for (let i = 0; i < 40; i++) deep = join(deep, `l${i}`);
  mkdirSync(deep, { recursive: true });
  f('deep/l0/l1/l2/file', 'deep');
  writeFileSync(join(deep, 'bottom'), 'bottom');
  const wide = join(root, 'wide');
  mkdirSync(wide);
  for (let i = 0; i < (opts.wide ?? 10000); i++)
    writeFileSync(join(wide, `f${i}`), i % 3 === 0 ? '' : String(i));
  // Fixed times everywhere, directories last (writing inside a directory changes its mtime).
  const stamp = (p: Buffer) => {
    const st = lstatSync(p);
    if (st.isDirectory())
      for (const n of readdirSync(p, { encoding: 'buffer' })) stamp(Buffer.concat([p, Buffer.from('/'), n]));
    if (!st.isSymbolicLink()) utimesSync(p, MTIME, MTIME);
  };
  stamp(Buffer.from(root));
}

export interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  nlink?: number;
  size?: number;
  sha?: string;
  target?: string;
  rdev?: number;
  xattrs: string;
}

/** Every entry under `root`, keyed by path bytes (latin1), with content hashes and xattrs. */
export function describe(root: string, opts: { mtime?: boolean } = {}): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (p: Buffer, rel: string) => {
    const st = lstatSync(p);
    const type = st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isCharacterDevice()
            ? 'chr'
            : st.isBlockDevice()
              ? 'blk'
              : st.isFIFO()
                ? 'fifo'
                : 'other';
    const xattrs = native()
      .readXattrs(p)
      .map(([k, v]) => `${k}=${v.toString('hex')}`)
      .sort()
      .join(',');
    const e: Entry = {
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: opts.mtime === false || type === 'symlink' ? 0 : Math.floor(st.mtimeMs / 1000),
      xattrs,
    };
    if (type === 'file') {
      e.size = st.size;
      e.nlink = st.nlink;
      e.sha = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
    if (type === 'symlink') e.target = readlinkSync(p, { encoding: 'buffer' }).toString('latin1');
    if (type === 'chr' || type === 'blk') e.rdev = st.rdev;
    out.set(rel || '/', e);
    if (type === 'dir')
      for (const n of readdirSync(p, { encoding: 'buffer' }))
        walk(Buffer.concat([p, Buffer.from('/'), n]), `${rel}/${n.toString('latin1')}`);
  };
  walk(Buffer.from(root), '');
  return out;
}

/** Differences between two descriptions, as readable lines (empty when equal). */
export function compare(want: Map<string, Entry>, got: Map<string, Entry>, ignoreRootMeta = false): string[] {
  const diffs: string[] = [];
  for (const [k, w] of want) {
    const g = got.get(k);
    if (!g) {
      diffs.push(`missing ${k}`);
      continue;
    }
    if (ignoreRootMeta && k === '/') continue;
    const a = JSON.stringify(w);
    const b = JSON.stringify(g);
    if (a !== b) diffs.push(`${k}: want ${a} got ${b}`);
  }
  for (const k of got.keys()) if (!want.has(k)) diffs.push(`extra ${k}`);
  return diffs;
}

/**
 * The tree's entries as the directory source walks them: depth first, each folder's names in byte order, a
 * folder before what it holds. Paths relative to `root`, "." first (raw name bytes, as tar takes them).
 */
export function walkOrder(root: string): Buffer[] {
  const out: Buffer[] = [Buffer.from('.')];
  const walk = (rel: Buffer) => {
    const abs = Buffer.concat([Buffer.from(`${root}/`), rel]);
    const names = readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      const child = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      out.push(Buffer.concat([Buffer.from('./'), child]));
      if (lstatSync(Buffer.concat([Buffer.from(`${root}/`), child])).isDirectory()) walk(child);
    }
  };
  walk(Buffer.alloc(0));
  return out;
}
