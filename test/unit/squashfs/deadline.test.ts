import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Piscina } from 'piscina';
import { afterAll, describe, expect, it } from 'vitest';
import { Deadlines } from '../../../src/squashfs/deadline.js';
import { feedDirectory } from '../../../src/squashfs/dir-feed.js';
import { DirectoryWalker } from '../../../src/squashfs/dir-source.js';
import type { NativeSquashWriter } from '../../../src/squashfs/native.js';
import type { ResolvedOptions } from '../../../src/squashfs/options.js';
import { DataPipeline } from '../../../src/squashfs/pipeline.js';
import { resultBytes, slabsFor } from '../../../src/squashfs/pipeline-sizing.js';
import { sealResult } from '../../../src/squashfs/protocol.js';
import { ResultSlabs } from '../../../src/squashfs/result-slabs.js';
import { NO_XATTRS, type TreeNode } from '../../../src/squashfs/tree.js';

const never = new Promise<never>(() => {});

describe('Deadlines', () => {
  it('settles as the work does', async () => {
    const d = new Deadlines(new AbortController().signal, 1000);
    await expect(d.run(Promise.resolve(7), () => new Error('late'))).resolves.toBe(7);
    await expect(d.run(Promise.reject(new Error('bad block')), () => new Error('late'))).rejects.toThrow(
      'bad block',
    );
  });

  it('fails with the stall error when the work takes longer than the limit', async () => {
    const d = new Deadlines(new AbortController().signal, 30);
    const started = Date.now();
    await expect(d.run(never, () => new Error('worker stalled'))).rejects.toThrow('worker stalled');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('fails every waiting task with the abort reason at once, and ignores the work failing later', async () => {
    const ac = new AbortController();
    const d = new Deadlines(ac.signal, 60_000);
    let fail: (err: Error) => void = () => {};
    const work = new Promise<number>((_, reject) => {
      fail = reject;
    });
    const tasks = [d.run(work, () => new Error('late')), d.run(never, () => new Error('late'))];
    ac.abort(new Error('user pressed ^C'));
    for (const t of tasks) await expect(t).rejects.toThrow('user pressed ^C');
    // An unhandled rejection here would fail the test run.
    fail(new Error('pool destroyed'));
    await new Promise((r) => setImmediate(r));
    await expect(d.run(Promise.resolve(1), () => new Error('late'))).rejects.toThrow('user pressed ^C');
  });

  it("listens to the caller's signal once, whatever the number of tasks, and not after dispose", async () => {
    const ac = new AbortController();
    let listeners = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    ac.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof remove;
    const d = new Deadlines(ac.signal, 1000);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => d.run(Promise.resolve(i), () => new Error('late'))),
    );
    expect(listeners).toBe(1);
    d.dispose();
    expect(listeners).toBe(0);
  });
});

describe('the pipeline keeps time limits and abort on its side of the pool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deadline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A pipeline over a pool whose tasks never finish; returns how the run ended and the options each task had. */
  async function stalledRun(
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<{ err: unknown; opts: object[] }> {
    const blockSize = 131072;
    const slabs = new ResultSlabs(slabsFor(2), resultBytes(1 << 20, blockSize));
    const opts: object[] = [];
    const pool = {
      run: (_task: unknown, o: object) => {
        opts.push(o);
        return never;
      },
    } as unknown as Piscina;
    const fd = openSync(join(dir, 'data'), 'w');
    const writer = { dataEnd: () => 0, adoptData: () => {}, addFragment: () => 0 };
    const p = new DataPipeline(pool, writer as unknown as NativeSquashWriter, {
      cfg: { comp: 'gzip', blockSize },
      dataFd: fd,
      rootLength: '/src'.length,
      taskBytes: 1 << 20,
      window: 2,
      slabs,
      signal,
      taskTimeoutMs: timeoutMs,
      onBytes: () => {},
    });
    const node = { name: Buffer.from('big'), path: '/big', kind: 'file', perm: 0o644, xattrs: NO_XATTRS };
    try {
      p.fileBlocks(node as TreeNode, { path: '/src/big', fileSize: 2 << 20 }, 0, 2 << 20, true);
      await p.settle();
      await p.finish();
      return { err: undefined, opts };
    } catch (err) {
      return { err, opts };
    } finally {
      closeSync(fd);
    }
  }

  it('fails a task that does not finish in time with an error naming its first file', async () => {
    const { err, opts } = await stalledRun(new AbortController().signal, 50);
    expect(String(err)).toMatch(
      /compression worker stalled: a task starting at \/big did not finish within 0 s/,
    );
    // No signal reaches piscina: it would keep every other task off a worker running one.
    expect(opts.length).toBeGreaterThan(0);
    for (const o of opts) expect(o).not.toHaveProperty('signal');
  });

  it('fails a hashing batch that does not finish in time with an error naming its first file', async () => {
    // Two files of one size: the directory source hashes both before it writes the second.
    const src = join(dir, 'twins');
    mkdirSync(src);
    writeFileSync(join(src, 'a'), 'same size 1');
    writeFileSync(join(src, 'b'), 'same size 2');
    const blockSize = 131072;
    const slabs = new ResultSlabs(slabsFor(2), resultBytes(1 << 20, blockSize));
    const pool = {
      run: (task: { op: string; slab?: number }) => {
        if (task.op === 'hash') return never;
        sealResult(slabs.buffers[task.slab as number] as SharedArrayBuffer, 0, [0, 1, 0], 0, {
          fromCache: 0,
          bad: 0,
          unwritable: 0,
        });
        return Promise.resolve(task.slab);
      },
    } as unknown as Piscina;
    const writer = { dataEnd: () => 0, adoptData: () => {}, addFragment: () => 0 };
    const fd = openSync(join(dir, 'data'), 'w');
    const o = { cfg: { comp: 'gzip', blockSize }, stallTimeoutMs: 50 } as ResolvedOptions;
    const pipeline = new DataPipeline(pool, writer as unknown as NativeSquashWriter, {
      cfg: o.cfg,
      dataFd: fd,
      rootLength: src.length,
      taskBytes: 1 << 20,
      window: 2,
      slabs,
      signal: new AbortController().signal,
      taskTimeoutMs: o.stallTimeoutMs,
      onBytes: () => {},
    });
    const walker = new DirectoryWalker(src, { excludes: new Set(), noXattrs: true });
    try {
      await expect(feedDirectory(pool, pipeline, walker, src.length, o, () => {})).rejects.toThrow(
        /hashing worker stalled: a batch starting at \/a did not finish within 0 s/,
      );
    } finally {
      await pipeline.dispose();
      closeSync(fd);
    }
  });

  it('fails with the abort reason when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop now')), 20);
    const { err } = await stalledRun(ac.signal, 60_000);
    expect(String(err)).toContain('stop now');
  });
});
