import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Piscina } from 'piscina';
import { afterAll, describe, expect, it } from 'vitest';
import type { NativeSquashWriter } from '../../../src/squashfs/native.js';
import { DataPipeline } from '../../../src/squashfs/pipeline.js';
import { MAX_CARRIED_RUN, resultBytes, slabsFor } from '../../../src/squashfs/pipeline-sizing.js';
import {
  type CompressTask,
  ITEM,
  PART,
  sealResult,
  taskResultBytes,
} from '../../../src/squashfs/protocol.js';
import { ResultSlabs } from '../../../src/squashfs/result-slabs.js';
import { NO_XATTRS, type TreeNode } from '../../../src/squashfs/tree.js';

/** xorshift32: the same cases on every run. */
function rng(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const dir = mkdtempSync(join(tmpdir(), 'pipeline-slabs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Feeds a run of files through a pipeline whose pool is a fake: it checks every task against its slab, as the
 * worker does, and answers with all blocks sparse.
 */
async function run(
  blockSize: number,
  taskBytes: number,
  sizes: number[],
  carried: boolean,
): Promise<number[]> {
  const window = 4;
  const slabs = new ResultSlabs(slabsFor(window), resultBytes(taskBytes, blockSize));
  const needs: number[] = [];
  const pool = {
    run: async (task: CompressTask) => {
      needs.push(taskResultBytes(task.items, blockSize));
      const table: number[] = [];
      for (let r = 0; r < task.items.length; r += ITEM.size) {
        if (task.items[r + ITEM.kind] === PART) continue;
        const n = Math.max(1, Math.ceil((task.items[r + ITEM.length] as number) / blockSize));
        table.push(0, n, ...new Array<number>(n).fill(0));
      }
      sealResult(slabs.buffers[task.slab] as SharedArrayBuffer, 0, table, 0, {
        fromCache: 0,
        bad: 0,
        unwritable: 0,
      });
      await new Promise((r) => setImmediate(r));
      return task.slab;
    },
  } as unknown as Piscina;
  const writer = {
    dataEnd: () => 0,
    adoptData: () => {},
    addFragment: () => 0,
  } as unknown as NativeSquashWriter;
  const fd = openSync(join(dir, 'data'), 'w');
  const ac = new AbortController();
  const p = new DataPipeline(pool, writer, {
    cfg: { comp: 'gzip', blockSize },
    dataFd: fd,
    rootLength: 0,
    taskBytes,
    window,
    slabs,
    signal: ac.signal,
    taskTimeoutMs: 60_000,
    onBytes: () => {},
  });
  try {
    for (const [i, size] of sizes.entries()) {
      const node = {
        name: Buffer.from(`f${i}`),
        path: `/f${i}`,
        kind: 'file',
        perm: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
        xattrs: NO_XATTRS,
        size,
      } as TreeNode;
      const full = size - (size % blockSize);
      if (carried) {
        // As the tar source does: a file up to MAX_CARRIED_RUN in one reservation, a larger one a chunk at a time.
        for (let off = 0; off < full; ) {
          const n = size <= MAX_CARRIED_RUN ? full : Math.min(full - off, p.chunk);
          await p.reserveBlocks(n);
          p.commitBlocks(node, n, off === 0);
          off += n;
          await p.settle();
        }
        if (full < size) {
          p.reserveTail(size - full);
          p.commitTail(node, size - full);
        }
      } else {
        const file = { path: `/src/f${i}`, fileSize: size };
        for (let off = 0; off < full; off += p.chunk) {
          p.fileBlocks(node, file, off, Math.min(p.chunk, full - off), off === 0);
          if (full - off > p.chunk) await p.settle();
        }
        if (full < size) p.fileTail(node, file, full, size - full);
      }
      await p.settle();
    }
    await p.finish();
  } finally {
    closeSync(fd);
  }
  expect(Math.max(...needs)).toBeLessThanOrEqual(slabs.bytes);
  return needs;
}

describe('result slabs hold every task the pipeline cuts', () => {
  for (const [blockSize, taskBytes] of [
    [131072, 4 << 20],
    [131072, 2 << 20],
    [4096, 1 << 20],
    [1 << 20, 1 << 20],
  ] as const) {
    for (const carried of [false, true]) {
      it(`${blockSize / 1024} KiB blocks, ${taskBytes >> 20} MiB tasks, ${carried ? 'carried bytes' : 'read by workers'}`, async () => {
        const r = rng(blockSize ^ taskBytes ^ (carried ? 7 : 1));
        // Mostly tails of every length (fragments closed part-full), some files of whole chunks and more.
        const sizes = Array.from({ length: 600 }, () =>
          r(4) === 0
            ? r(3 * taskBytes)
            : r(3) === 0
              ? r(blockSize) + blockSize * (1 + r(4))
              : 1 + r(blockSize),
        );
        const needs = await run(blockSize, taskBytes, sizes, carried);
        expect(needs.length).toBeGreaterThan(3);
      });
    }
  }
});
