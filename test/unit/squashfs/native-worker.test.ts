import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { native } from '../../../src/squashfs/native.js';

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
      'unknown compressor: nope',
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

  it('writer errors carry the libsquashfs code and the path', () => {
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
    expect(err).toMatchObject({ code: 'SQFS_ERROR_IO', path: '/nonexistent-dir/x.sqfs' });
    expect((err as Error).message).toBe(
      'opening the output file failed (SQFS_ERROR_IO): /nonexistent-dir/x.sqfs',
    );
  });
});
