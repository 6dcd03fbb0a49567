/**
 * Runs one SquashFS build: source → tree + data pipeline → tables → temp file renamed over the output.
 * A failure or abort removes the temp file, so no partial output is ever left behind; a temp file left by a
 * killed run carries its lease, so the next run's sweep removes it (src/lease.ts).
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Piscina } from 'piscina';
import { leasedName } from '../lease.js';
import { feedDirectory } from './dir-feed.js';
import { DirectoryWalker } from './dir-source.js';
import { findRoot, type NativeSquashWriter, native } from './native.js';
import type { ResolvedOptions } from './options.js';
import { DataPipeline } from './pipeline.js';
import { resultBytes, slabsFor } from './pipeline-sizing.js';
import type { WorkerData } from './protocol.js';
import { ResultSlabs } from './result-slabs.js';
import { serializeTree } from './serialize.js';
import { readTarTree } from './tar-source.js';
import type { TreeNode } from './tree.js';

export interface WriteProgress {
  phase: 'scan' | 'data' | 'tables';
  done: number;
  total?: number;
}

export interface WriteResult {
  bytes: number;
  inodes: number;
  entries: number;
  /** Data and fragment blocks compressed in this run (cache hits excluded). */
  blocksCompressed: number;
  blocksFromCache: number;
  /** Block cache entries that were not valid for their block: treated as misses, recompressed and rewritten. */
  cacheEntriesBad: number;
  /** Block cache entries that could not be written (a read-only or full cache); the image is complete anyway. */
  cacheEntriesUnwritable: number;
  /** Files whose data matched an earlier file and was not written again. */
  duplicateFiles: number;
  /** Data blocks not written because a file's whole run of blocks was in the image already. */
  blocksShared: number;
  fragments: number;
}

/**
 * Uncompressed bytes per compression task. lz4 gets through 4 MiB in milliseconds, so it needs big tasks to
 * keep per-task overhead small; the slow compressors get small tasks so both cores stay busy to the last block.
 */
export function taskBytesFor(comp: string): number {
  return comp === 'lz4' ? 4 << 20 : 1 << 20;
}

/** Identities of the temp file and of an earlier output: never part of the image when they lie in the source. */
function outputFiles(tmp: string, out: string): Set<string> {
  const ids = new Set<string>();
  for (const p of [tmp, out]) {
    try {
      // As numbers, like the native scan reports them, so the two spell an identity the same way.
      const st = statSync(p);
      if (st.isFile()) ids.add(`${st.dev}:${st.ino}`);
    } catch {}
  }
  return ids;
}

/**
 * A failed write of the data region names the image: Node's error for a write through a descriptor names no
 * path ("ENOSPC: no space left on device, write"). The code (ENOSPC, EIO, EDQUOT, ...) stays on the error.
 */
function namingImage(err: unknown, out: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || e.syscall !== 'write' || e.path !== undefined)
    return err;
  return Object.assign(new Error(`writing ${out} failed (${e.code}): ${e.message}`, { cause: err }), {
    code: e.code,
    path: out,
  });
}

function workerPath(): string {
  return join(findRoot(), 'dist', 'src', 'squashfs', 'worker.js');
}

export async function writeImage(
  source: string | Readable,
  out: string,
  o: ResolvedOptions,
  signal: AbortSignal,
  progress: (p: WriteProgress) => void,
): Promise<WriteResult> {
  signal.throwIfAborted();
  const tmp = join(dirname(out), leasedName(`.${basename(out)}.tmp-`));
  // The writer creates `tmp` with O_EXCL; from here on the file is ours and every way out removes it.
  const writer = new (native().SquashWriter)(tmp, { ...o.cfg, mkfsTime: o.mkfsTime });
  let ok = false;
  try {
    const result = await writeInto({ tmp, out, writer }, source, o, signal, progress);
    ok = true;
    return result;
  } finally {
    writer.close();
    if (!ok) {
      try {
        unlinkSync(tmp);
      } catch {}
    }
  }
}

/** The compression workers: one per processor, each reading the result slabs. */
export function startPool(processors: number, slabs: ResultSlabs): Piscina {
  return new Piscina({
    filename: workerPath(),
    minThreads: processors,
    maxThreads: processors,
    // A second task waits in each worker, so a worker goes on without a round trip to this thread.
    concurrentTasksPerWorker: 2,
    idleTimeout: 1000,
    workerData: { slabs: slabs.buffers } satisfies WorkerData,
  });
}

/** Walks a source directory and feeds its files to the pipeline; `onScanned` gets the data bytes and entries. */
async function readDirectory(
  dir: string,
  run: {
    pool: Piscina;
    pipeline: DataPipeline;
    o: ResolvedOptions;
    skipFiles: ReturnType<typeof outputFiles>;
  },
  onScanned: (bytes: number, entries: number) => void,
): Promise<{ root: TreeNode; entries: number; duplicateFiles: number }> {
  const { o } = run;
  const walker = new DirectoryWalker(dir, {
    excludes: o.excludes,
    noXattrs: o.noXattrs,
    skipFiles: run.skipFiles,
  });
  const duplicateFiles = await feedDirectory(
    run.pool,
    run.pipeline,
    walker,
    Buffer.byteLength(dir),
    o,
    (bytes) => onScanned(bytes, walker.entries),
  );
  return { root: walker.root, entries: walker.entries, duplicateFiles };
}

/** Writes the image into `tmp` through `writer` and renames it onto `out` when it is complete. */
async function writeInto(
  { tmp, out, writer }: { tmp: string; out: string; writer: NativeSquashWriter },
  source: string | Readable,
  o: ResolvedOptions,
  signal: AbortSignal,
  progress: (p: WriteProgress) => void,
): Promise<WriteResult> {
  const window = o.processors * 4;
  const taskBytes = taskBytesFor(o.cfg.comp);
  const slabs = new ResultSlabs(slabsFor(window), resultBytes(taskBytes, o.cfg.blockSize));
  const pool = startPool(o.processors, slabs);
  if (o.cacheDir) mkdirSync(o.cacheDir, { recursive: true });
  const dataFd = openSync(tmp, 'r+');
  let done = 0;
  let total: number | undefined;
  let lastReport = 0;
  const onBytes = (n: number) => {
    done += n;
    const now = Date.now();
    if (now - lastReport > 200) {
      lastReport = now;
      progress({ phase: 'data', done, ...(total !== undefined ? { total } : {}) });
    }
  };
  // Workers name a file by what follows the source directory's path in its disk path.
  const rootLength = typeof source === 'string' ? Buffer.byteLength(source) : 0;
  const pipeline = new DataPipeline(pool, writer, {
    cfg: o.cfg,
    dataFd,
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    rootLength,
    taskBytes,
    window,
    slabs,
    signal,
    taskTimeoutMs: o.stallTimeoutMs,
    onBytes,
  });
  let poolDown: Promise<void> | undefined;
  try {
    if (typeof source === 'string') progress({ phase: 'scan', done: 0 });
    const { root, entries, duplicateFiles } =
      typeof source === 'string'
        ? await readDirectory(
            source,
            { pool, pipeline, o, skipFiles: outputFiles(tmp, out) },
            (bytes, walked) => {
              total = bytes;
              progress({ phase: 'scan', done: walked, total: walked });
            },
          )
        : await readTarTree(source, pipeline, o, signal);
    await pipeline.finish();
    // The workers are done: they wind down on the other core while this thread writes the tables.
    poolDown = pool.destroy();
    signal.throwIfAborted();
    progress({ phase: 'tables', done: entries });
    const inodes = serializeTree(writer, root, {
      allRoot: o.allRoot,
      ...(o.inodeTime !== undefined ? { mtime: o.inodeTime } : {}),
    });
    signal.throwIfAborted();
    renameSync(tmp, out);
    return {
      bytes: statSync(out).size,
      inodes,
      entries,
      blocksCompressed: pipeline.stats.blocksCompressed,
      blocksFromCache: pipeline.stats.blocksFromCache,
      cacheEntriesBad: pipeline.stats.cacheEntriesBad,
      cacheEntriesUnwritable: pipeline.stats.cacheEntriesUnwritable,
      duplicateFiles,
      blocksShared: pipeline.stats.blocksShared,
      fragments: pipeline.stats.fragments,
    };
  } catch (err) {
    // Piscina reports its own abort error; the caller wants the reason it gave.
    throw signal.aborted ? signal.reason : namingImage(err, out);
  } finally {
    await (poolDown ?? pool.destroy());
    await pipeline.dispose();
    closeSync(dataFd);
    // The archive's end marker ends the read, not the stream: what follows (padding, a Docker export's HTTP
    // body) would hold its socket, and so the process, open.
    if (typeof source !== 'string') source.destroy();
  }
}
