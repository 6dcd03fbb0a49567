import { execFileSync, spawn } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, describe as suite } from 'vitest';
import { squash } from '../../../src/api.js';
import { compare, describe, MTIME, makeTree, SHARED_BLOCKS } from './tree.js';

const work = mkdtempSync(join(tmpdir(), 'sqfs-it-'));
const src = join(work, 'src');
let want: ReturnType<typeof describe>;

function mounted<T>(image: string, fn: (dir: string) => T): T {
  const mnt = mkdtempSync(join(work, 'mnt-'));
  execFileSync('mount', ['-t', 'squashfs', '-o', 'loop,ro', image, mnt]);
  try {
    return fn(mnt);
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true });
  }
}

function extracted<T>(image: string, fn: (dir: string) => T): T {
  const dir = join(work, `x-${Date.now()}`);
  execFileSync('unsquashfs', ['-q', '-n', '-d', dir, image], { stdio: 'ignore' });
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

beforeAll(() => {
  makeTree(src);
  want = describe(src);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

suite('squash through the kernel and unsquashfs', () => {
  for (const comp of ['gzip', 'zstd', 'lz4', 'xz'] as const) {
    it(`directory source, ${comp}`, async () => {
      const out = join(work, `dir-${comp}.sqfs`);
      const r = await squash({ source: src, out, comp, processors: 2 });
      expect(r.duplicateFiles).toBeGreaterThanOrEqual(1);
      expect(r.blocksShared).toBe(SHARED_BLOCKS);
      expect(mounted(out, (d) => compare(want, describe(d)))).toEqual([]);
      // lz4 included: unsquashfs rejects a metadata block that "compressed" to more than its size, which
      // libsquashfs' lz4 writes for a small id table unless we store it raw.
      expect(extracted(out, (d) => compare(want, describe(d), true))).toEqual([]);
      const listing = execFileSync('unsquashfs', ['-lln', out]).toString();
      expect(listing).toMatch(/crw-r--r-- 0\/0 +1, +3 .*\/null/);
      expect(listing).toMatch(/-rw-r--r-- 1234\/5678 .*\/owned/);
      expect(
        mounted(out, (d) =>
          execFileSync('stat', ['-c', '%i %h', join(d, 'hl1'), join(d, 'sub/hl3')]).toString(),
        ),
      ).toMatch(/^(\d+) 3\n\1 3\n$/);
    });
  }

  it('tar source (GNU tar with SCHILY xattrs, as docker export writes)', async () => {
    const tarFile = join(work, 'src.tar');
    execFileSync('tar', [
      '--xattrs',
      '--xattrs-include=*',
      '--numeric-owner',
      // Name order, as the directory source feeds: which of run-a's copies share its blocks follows the order.
      '--sort=name',
      '-cf',
      tarFile,
      '-C',
      src,
      '.',
    ]);
    const out = join(work, 'tar.sqfs');
    const r = await squash({ source: createReadStream(tarFile), out, comp: 'zstd', processors: 2 });
    expect(r.entries).toBe(want.size);
    expect(r.blocksShared).toBe(SHARED_BLOCKS);
    expect(mounted(out, (d) => compare(want, describe(d)))).toEqual([]);
    expect(extracted(out, (d) => compare(want, describe(d), true))).toEqual([]);
  });

  it('exclude, all-root, no-xattrs and SOURCE_DATE_EPOCH', async () => {
    const out = join(work, 'opts.sqfs');
    await squash({
      source: src,
      out,
      exclude: ['/wide', 'deep/l0'],
      allRoot: true,
      noXattrs: true,
      sourceDateEpoch: 1234567890,
    });
    const got = mounted(out, (d) => describe(d));
    expect(got.has('/wide')).toBe(false);
    expect(got.has('/deep')).toBe(true);
    expect(got.has('/deep/l0')).toBe(false);
    expect(got.get('/owned')).toMatchObject({ uid: 0, gid: 0, mtime: 1234567890, xattrs: '' });
    expect(got.get('/caps')?.xattrs).toBe('');
  });
});

suite('reproducible, incremental, failure', () => {
  it('same bytes with 1 and 2 processors for one SOURCE_DATE_EPOCH (dir and tar)', async () => {
    const a = join(work, 'p1.sqfs');
    const b = join(work, 'p2.sqfs');
    await squash({ source: src, out: a, comp: 'zstd', processors: 1, sourceDateEpoch: MTIME });
    await squash({ source: src, out: b, comp: 'zstd', processors: 2, sourceDateEpoch: MTIME });
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const tarFile = join(work, 'src.tar');
    const c = join(work, 't1.sqfs');
    const d = join(work, 't2.sqfs');
    await squash({ source: createReadStream(tarFile), out: c, processors: 1, sourceDateEpoch: MTIME });
    await squash({ source: createReadStream(tarFile), out: d, processors: 2, sourceDateEpoch: MTIME });
    expect(readFileSync(c).equals(readFileSync(d))).toBe(true);
  });

  it('cached rebuild gives the cold bytes and compresses only the changed file', async () => {
    const tree = join(work, 'inc');
    makeTree(tree, { wide: 100 });
    const cache = join(work, 'cache');
    const cold = join(work, 'cold.sqfs');
    const warm = join(work, 'warm.sqfs');
    const opts = { comp: 'zstd' as const, processors: 2, sourceDateEpoch: MTIME };
    const first = await squash({ source: tree, out: warm, cacheDir: cache, ...opts });
    // A cold cache serves nothing but blocks the tree repeats (run-a's, in run-middle, run-near and
    // run-prefix: 6), and those only when their first copy's task has finished.
    expect(first.blocksFromCache).toBeLessThanOrEqual(SHARED_BLOCKS + 1);
    // exact2 is two full blocks and no tail; one byte changed in its first block costs exactly one compression.
    const data = readFileSync(join(tree, 'exact2'));
    data[5] = (data[5] as number) ^ 0xff;
    writeFileSync(join(tree, 'exact2'), data);
    const second = await squash({ source: tree, out: warm, cacheDir: cache, ...opts });
    expect(second.blocksCompressed).toBe(1);
    expect(second.blocksFromCache).toBeGreaterThan(0);
    await squash({ source: tree, out: cold, ...opts });
    expect(readFileSync(cold).equals(readFileSync(warm))).toBe(true);
  });

  it('an aborted run leaves no output and no temp file', async () => {
    const dir = join(work, 'abort');
    mkdirSync(dir);
    const out = join(dir, 'out.sqfs');
    const ac = new AbortController();
    const p = squash({ source: src, out, comp: 'xz', processors: 1, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop now')), 50);
    await expect(p).rejects.toThrow(/stop now/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unreadable input names the file and leaves no output', async () => {
    const dir = join(work, 'bad');
    mkdirSync(join(dir, 'in'), { recursive: true });
    writeFileSync(join(dir, 'in', 'ok'), 'fine');
    execFileSync('ln', ['-s', '/proc/self/mem', join(dir, 'in', 'link')]);
    // A file that vanishes between the walk and the read: one of a size seen before waits for the end of the
    // walk (to be hashed against its twin), and is removed when the walk reports it is done.
    writeFileSync(join(dir, 'in', 'a-twin'), Buffer.alloc(300000, 2));
    writeFileSync(join(dir, 'in', 'gone'), Buffer.alloc(300000, 1));
    const out = join(dir, 'out.sqfs');
    const p = squash({
      source: join(dir, 'in'),
      out,
      processors: 1,
      onProgress: (e) => {
        if (e.kind === 'progress' && e.message === 'scan' && (e.done ?? 0) > 0)
          rmSync(join(dir, 'in', 'gone'));
      },
    });
    await expect(p).rejects.toThrow(/\/gone/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual(['in']);
  });

  it('a stalled tar stream fails in bounded time', async () => {
    const out = join(work, 'stall.sqfs');
    const child = spawn('sleep', ['30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await expect(squash({ source: child.stdout, out, stallTimeoutMs: 500 })).rejects.toThrow(/stalled/);
    } finally {
      child.kill();
    }
    expect(existsSync(out)).toBe(false);
  });

  it('lets go of a tar stream that goes on after the end of the archive (a Docker export)', async () => {
    const out = join(work, 'open.sqfs');
    const archive = execFileSync('tar', ['-C', join(src, 'sub'), '-cf', '-', '.']);
    const { PassThrough } = await import('node:stream');
    // The archive, then more bytes and no end: like an HTTP body whose socket stays open.
    const stream = new PassThrough();
    stream.write(archive);
    stream.write(Buffer.alloc(4096));
    await squash({ source: stream, out, sourceDateEpoch: MTIME });
    expect(stream.destroyed).toBe(true);
    expect(existsSync(out)).toBe(true);
  });
});
