import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { INODE, native } from '../../../src/squashfs/native.js';
import { BLOCKS, FRAGMENT, joinPaths, PART } from '../../../src/squashfs/protocol.js';

describe('native compressors', () => {
  it('compress gzip blocks as zlib streams and report blocks that do not shrink', () => {
    const c = new (native().BlockCompressor)({ comp: 'gzip', level: 9, blockSize: 131072 });
    const src = Buffer.from('squashfs '.repeat(1000));
    const dst = new Uint8Array(131072);
    const n = c.compress(src, dst);
    expect(n).toBeGreaterThan(0);
    expect(inflateSync(dst.subarray(0, n)).equals(src)).toBe(true);
    const random = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff));
    expect(c.compress(random, dst)).toBe(0);
  });

  it("compress gzip blocks with the system zlib (as mksquashfs does), not Node's own", () => {
    const block = readFileSync('/usr/bin/bash').subarray(0, 131072);
    const c = new (native().BlockCompressor)({ comp: 'gzip', level: 9, blockSize: 131072 });
    const dst = new Uint8Array(131072);
    const n = c.compress(block, dst);
    // Python's zlib module is the system library: an independent reference.
    const system = execFileSync(
      'python3',
      ['-c', 'import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), 9))'],
      { input: block },
    );
    // Node's zlib (Chromium's) gives 52173 bytes for this block where the system's gives 51722.
    expect(Buffer.from(dst.subarray(0, n)).equals(system)).toBe(true);
  });

  it('rejects an unknown compressor with a TypeError', () => {
    expect(() => new (native().BlockCompressor)({ comp: 'nope' as never, blockSize: 131072 })).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_VALUE',
        message: 'new BlockCompressor: options.comp names no compressor libsquashfs knows: nope',
      }),
    );
  });

  it('loads in worker threads (context-aware addon)', async () => {
    const path = JSON.stringify(
      new URL('../../../build/Release/airship_native.node', import.meta.url).pathname,
    );
    const code = `
      const { parentPort } = require('node:worker_threads');
      const a = require(${path});
      const c = new a.BlockCompressor({ comp: 'xz', blockSize: 131072 });
      parentPort.postMessage(c.compress(Buffer.alloc(100000, 7), new Uint8Array(131072)));`;
    const results = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<number>((resolve, reject) => {
            const w = new Worker(code, { eval: true });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    for (const n of results) expect(n).toBeGreaterThan(0);
  });

  it('writer errors carry the errno name behind a libsquashfs I/O error, and the path', () => {
    let err: unknown;
    try {
      new (native().SquashWriter)('/nonexistent-dir/x.sqfs', {
        comp: 'gzip',
        blockSize: 131072,
        mkfsTime: 0,
      });
    } catch (e) {
      err = e;
    }
    // libsquashfs says SQFS_ERROR_IO for every failed read or write; the errno says which.
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2, sqfsCode: -2, path: '/nonexistent-dir/x.sqfs' });
    expect((err as Error).message).toBe(
      'opening the output file failed (ENOENT: No such file or directory): /nonexistent-dir/x.sqfs',
    );
  });

  it('writes a run of inodes in one call and names the one that fails by its index', () => {
    const dir = mkdtempSync(join(tmpdir(), 'write-inodes-'));
    try {
      const w = new (native().SquashWriter)(join(dir, 'x.sqfs'), {
        comp: 'gzip',
        blockSize: 131072,
        mkfsTime: 0,
      });
      const W = INODE.words;
      const fields = new Float64Array(3 * W);
      const fill = (i: number, mode: number) => {
        fields[i * W + INODE.mode] = mode;
        fields[i * W + INODE.ino] = i + 1;
        fields[i * W + INODE.nlink] = 1;
        fields[i * W + INODE.xattr] = 0xffffffff;
        fields[i * W + INODE.fragIndex] = 0xffffffff;
      };
      fill(0, 0o100644);
      fill(1, 0o120777);
      fill(2, 0o100644);
      const target = Buffer.from('../target');
      const payload = new Uint8Array(16);
      payload.set(target, 0);
      const refs = w.writeInodes(fields, Uint32Array.of(0, 0, 0, target.length, 0, 0), payload);
      expect(refs.length).toBe(3);
      // References grow with each inode's place in the table (block << 16 | offset).
      expect(refs[0]).toBeLessThan(refs[1] as number);
      expect(refs[1]).toBeLessThan(refs[2] as number);
      fill(1, 0o040755);
      expect(() => w.writeInodes(fields, Uint32Array.of(0, 0, 0, 0, 0, 0), payload)).toThrow(
        expect.objectContaining({ index: 1 }),
      );
      w.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets a worker be terminated while its native calls throw (no abort of the process)', () => {
    // Piscina terminates a worker when its task is aborted. A native call that is throwing at that moment
    // cannot hand the error to JavaScript any more; node-addon-api must drop it, not call std::terminate.
    const addon = new URL('../../../build/Release/airship_native.node', import.meta.url).pathname;
    const script = `
      const { Worker } = require('node:worker_threads');
      (async () => {
        for (let i = 0; i < 150; i++) {
          const w = new Worker(\`
            const a = require(\${JSON.stringify(process.argv[1])});
            for (;;) { try { a.readRange('/nonexistent/file', 0, new Uint8Array(1)); } catch {} }\`, { eval: true });
          await new Promise((r) => setTimeout(r, (i * 7) % 40));
          await w.terminate();
        }
        console.log('survived');
      })();`;
    const out = execFileSync(process.execPath, ['-e', script, addon], { encoding: 'utf8', timeout: 60_000 });
    expect(out.trim()).toBe('survived');
  });

  describe('compressTask (a whole task in one call)', () => {
    const bs = 131072;
    const dir = mkdtempSync(join(tmpdir(), 'compress-task-'));
    const addon = JSON.stringify(
      new URL('../../../build/Release/airship_native.node', import.meta.url).pathname,
    );
    type Compressor = InstanceType<ReturnType<typeof native>['BlockCompressor']>;
    /** One BLOCKS record: `length` bytes of `file` from `offset`; returns the bytes used and the size words. */
    const compressRange = (c: Compressor, file: string, offset: number, length: number, blockSize = bs) => {
      const n = Math.ceil(length / blockSize);
      const out = new Uint8Array(length);
      const table = new Uint32Array(2 + n);
      const [used, words, compressed] = c.compressTask(
        Float64Array.of(BLOCKS, 0, offset, length, offset + length),
        joinPaths([file]),
        [],
        out,
        table,
      );
      expect(words).toBe(2 + n);
      expect(table[0]).toBe(used);
      expect(table[1]).toBe(n);
      return { used, out, words: [...table.subarray(2)], compressed };
    };

    it('gives each block the word compress() would, skipping all-zero blocks', () => {
      const text = Buffer.from('text block '.repeat(bs / 11 + 1)).subarray(0, bs);
      const noise = randomBytes(bs);
      const file = join(dir, 'mixed');
      // A block before the range, then zero, text, noise, and a zero block with one byte set at its end.
      const lastByte = Buffer.alloc(bs);
      lastByte[bs - 1] = 1;
      writeFileSync(file, Buffer.concat([noise, Buffer.alloc(bs), text, noise, lastByte]));
      const c = new (native().BlockCompressor)({ comp: 'gzip', level: 9, blockSize: bs });
      const { used, out, words, compressed } = compressRange(c, file, bs, 4 * bs);
      expect(compressed).toBe(3);

      const dst = new Uint8Array(bs);
      const textLen = c.compress(text, dst);
      const lastLen = c.compress(lastByte, new Uint8Array(bs));
      expect(words).toEqual([0, textLen, bs | (1 << 24), lastLen]);
      expect(used).toBe(textLen + bs + lastLen);
      expect(inflateSync(out.subarray(0, textLen)).equals(text)).toBe(true);
      expect(Buffer.from(out.subarray(textLen, textLen + bs)).equals(noise)).toBe(true);
      expect(inflateSync(out.subarray(textLen + bs, used)).equals(lastByte)).toBe(true);
    });

    it('cuts a range read over several chunks into the blocks of one read, up to a short last block', () => {
      // 4 KiB blocks: a read chunk holds many of them, so this range spans several chunks and ends mid-block.
      const small = 4096;
      const length = 200 * small + 123;
      const body = Buffer.concat(
        Array.from({ length: 201 }, (_, i) =>
          i % 3 === 0 ? Buffer.alloc(small) : Buffer.from(`block ${i} `.repeat(small / 8).slice(0, small)),
        ),
      ).subarray(0, length);
      const file = join(dir, 'chunks');
      writeFileSync(file, Buffer.concat([Buffer.alloc(small, 9), body]));
      const c = new (native().BlockCompressor)({ comp: 'gzip', level: 9, blockSize: small });
      const { used, out, words } = compressRange(c, file, small, length, small);
      const expected: number[] = [];
      let at = 0;
      for (let i = 0; i < words.length; i++) {
        const block = body.subarray(i * small, Math.min(length, (i + 1) * small));
        if (block.every((b) => b === 0)) {
          expected.push(0);
          continue;
        }
        const n = c.compress(block, new Uint8Array(block.length));
        expected.push(n);
        expect(inflateSync(out.subarray(at, at + n)).equals(block)).toBe(true);
        at += n;
      }
      expect(words).toEqual(expected);
      expect(used).toBe(at);
    });

    it('reports a file shorter than the range as ESHRANK, and a missing one as ENOENT', () => {
      const file = join(dir, 'short');
      writeFileSync(file, Buffer.alloc(bs, 3));
      const c = new (native().BlockCompressor)({ comp: 'lz4', blockSize: bs });
      expect(() => compressRange(c, file, 0, 2 * bs)).toThrow(
        expect.objectContaining({ code: 'ESHRANK', record: 0 }),
      );
      expect(() => compressRange(c, join(dir, 'none'), 0, bs)).toThrow(
        expect.objectContaining({ code: 'ENOENT', record: 0 }),
      );
    });

    it("packs a fragment record from its parts (files' tails) and names a failing part by its record", () => {
      const a = join(dir, 'tail-a');
      const b = join(dir, 'tail-b');
      writeFileSync(a, Buffer.concat([Buffer.alloc(bs, 1), Buffer.from('tail of a, '.repeat(50))]));
      writeFileSync(b, Buffer.from('tail of b; '.repeat(40)));
      const la = 550;
      const lb = 440;
      const c = new (native().BlockCompressor)({ comp: 'gzip', level: 9, blockSize: bs });
      // A block of a, then a fragment of a's tail and b.
      const items = Float64Array.of(
        BLOCKS,
        0,
        0,
        bs,
        bs + la,
        FRAGMENT,
        2,
        0,
        la + lb,
        la + lb,
        PART,
        0,
        bs,
        la,
        bs + la,
        PART,
        1,
        0,
        lb,
        lb,
      );
      const out = new Uint8Array(bs + la + lb);
      const table = new Uint32Array(16);
      const [used, words, compressed] = c.compressTask(items, joinPaths([a, b]), [], out, table);
      const blockLen = c.compress(Buffer.alloc(bs, 1), new Uint8Array(bs));
      const fragBytes = Buffer.concat([
        Buffer.from('tail of a, '.repeat(50)),
        Buffer.from('tail of b; '.repeat(40)),
      ]);
      const fragLen = c.compress(fragBytes, new Uint8Array(bs));
      expect([...table.subarray(0, words)]).toEqual([blockLen, 1, blockLen, fragLen, 1, fragLen]);
      expect(compressed).toBe(2);
      expect(used).toBe(blockLen + fragLen);
      expect(inflateSync(out.subarray(blockLen, used)).equals(fragBytes)).toBe(true);
      // The second part's file is shorter than its record says: the error names that record.
      const short = Float64Array.of(
        FRAGMENT,
        2,
        0,
        la + lb + 10,
        la + lb + 10,
        PART,
        0,
        bs,
        la,
        bs + la,
        PART,
        1,
        0,
        lb + 10,
        lb + 10,
      );
      expect(() => c.compressTask(short, joinPaths([a, b]), [], out, table)).toThrow(
        expect.objectContaining({ code: 'ESHRANK', record: 2 }),
      );
    });

    it('reports a file that holds fewer bytes than its size says (sysfs) as ESHRANK', () => {
      // sysfs says 4096 bytes for every attribute; the read then finds fewer bytes, which must be an error.
      const file = '/sys/kernel/mm/transparent_hugepage/enabled';
      const c = new (native().BlockCompressor)({ comp: 'lz4', blockSize: 4096 });
      expect(() => compressRange(c, file, 0, 4096, 4096)).toThrow(`file shrank while reading: ${file}`);
    });

    it('turns a file truncated while it is being compressed into ESHRANK', async () => {
      const file = join(dir, 'truncated');
      // Random data at xz's default level takes seconds for 24 MiB: time enough to cut the file mid-way.
      writeFileSync(file, randomBytes(24 << 20));
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const a = require(${addon});
        const c = new a.BlockCompressor({ comp: 'xz', blockSize: ${bs} });
        parentPort.postMessage('start');
        try {
          const items = Float64Array.of(${BLOCKS}, 0, 0, 24 << 20, 24 << 20);
          c.compressTask(items, workerData + '\\0', [], new Uint8Array(24 << 20), new Uint32Array(194));
          parentPort.postMessage('finished');
        } catch (e) {
          parentPort.postMessage(e.code + ' ' + e.message);
        }`;
      const reply = await new Promise<string>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: file });
        w.on('message', (m: string) => {
          if (m === 'start') setTimeout(() => execFileSync('truncate', ['-s', '4096', file]), 200);
          else resolve(m);
        });
        w.once('error', reject);
      });
      expect(reply).toBe(`ESHRANK file shrank while reading: ${file}`);
      // The thread (and this process) goes on compressing.
      writeFileSync(file, Buffer.alloc(bs, 5));
      const c = new (native().BlockCompressor)({ comp: 'lz4', blockSize: bs });
      expect(compressRange(c, file, 0, bs).used).toBeGreaterThan(0);
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));
  });

  describe('hashFiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hash-files-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("gives the SHA-256 of each file's first `size` bytes, a batch per call", () => {
      const bodies = [
        Buffer.alloc(0),
        Buffer.from('x'),
        randomBytes((1 << 20) + 5),
        Buffer.from('tail kept'),
      ];
      const paths = bodies.map((b, i) => {
        const p = join(dir, `f${i}`);
        writeFileSync(p, b);
        return p;
      });
      // The last file is longer than the size the walk saw: only that many bytes count.
      writeFileSync(paths[3] as string, Buffer.concat([bodies[3] as Buffer, Buffer.from('grown later')]));
      const sizes = Float64Array.from(bodies, (b) => b.length);
      const out = new Uint8Array(32 * bodies.length);
      native().hashFiles(joinPaths(paths), sizes, out);
      bodies.forEach((b, i) => {
        const want = createHash('sha256').update(b).digest();
        expect(Buffer.from(out.subarray(32 * i, 32 * i + 32)).equals(want)).toBe(true);
      });
    });

    it('names the failing file by its index: ENOENT when gone, ESHRANK when shorter than its size', () => {
      const ok = join(dir, 'ok');
      writeFileSync(ok, 'abc');
      const out = new Uint8Array(64);
      const fail = (paths: string[], sizes: number[]) => {
        try {
          native().hashFiles(joinPaths(paths), Float64Array.from(sizes), out);
        } catch (e) {
          return `${(e as NodeJS.ErrnoException).code} ${(e as { index?: number }).index}`;
        }
        return 'no error';
      };
      expect(fail([ok, join(dir, 'missing')], [3, 1])).toBe('ENOENT 1');
      expect(fail([ok, ok], [3, 4])).toBe('ESHRANK 1');
      expect(fail([ok], [3])).toBe('no error');
    });
  });
});
