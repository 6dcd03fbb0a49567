/**
 * Runs one SquashFS build: source → tree + data pipeline → tables → temp file renamed over the output.
 * A failure or abort removes the temp file, so no partial output is ever left behind.
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Piscina } from 'piscina';
import { type WalkedFile, walkDirectory } from './dir-source.js';
import { findRoot, native } from './native.js';
import type { ResolvedOptions } from './options.js';
import { DataPipeline } from './pipeline.js';
import { type HashTask, joinPaths } from './protocol.js';
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
  /** Files whose data matched an earlier file and was not written again. */
  duplicateFiles: number;
  fragments: number;
}

/** Bytes per hashing task. */
const HASH_TASK_BYTES = 4 << 20;
const HASH_TASK_ITEMS = 256;

/**
 * Uncompressed bytes per compression task. lz4 gets through 4 MiB in milliseconds, so it needs big tasks to
 * keep per-task overhead small; the slow compressors get small tasks so both cores stay busy to the last block.
 */
export function taskBytesFor(comp: string): number {
  return comp === 'lz4' ? 4 << 20 : 1 << 20;
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
  const tmp = join(dirname(out), `.${out.split('/').pop()}.tmp-${process.pid}-${Date.now().toString(36)}`);
  const pool = new Piscina({
    filename: workerPath(),
    minThreads: o.processors,
    maxThreads: o.processors,
    idleTimeout: 1000,
  });
  if (o.cacheDir) mkdirSync(o.cacheDir, { recursive: true });
  const writer = new (native().SquashWriter)(tmp, { ...o.cfg, mkfsTime: o.mkfsTime });
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
  const pipeline = new DataPipeline(pool, writer, {
    cfg: o.cfg,
    dataFd,
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    rootLength: typeof source === 'string' ? Buffer.byteLength(source) : 0,
    taskBytes: taskBytesFor(o.cfg.comp),
    window: o.processors * 4,
    signal,
    taskTimeoutMs: o.stallTimeoutMs,
    onBytes,
  });
  let ok = false;
  try {
    let root: TreeNode;
    let entries: number;
    let duplicateFiles = 0;
    if (typeof source === 'string') {
      progress({ phase: 'scan', done: 0 });
      const walked = walkDirectory(source, { excludes: o.excludes, noXattrs: o.noXattrs });
      root = walked.root;
      entries = walked.entries;
      progress({ phase: 'scan', done: entries, total: entries });
      total = walked.files.reduce((sum, f) => sum + (f.node.size ?? 0), 0);
      duplicateFiles = await feedDirectory(
        pool,
        pipeline,
        walked.files,
        Buffer.byteLength(source),
        o,
        signal,
      );
    } else {
      const r = await readTarTree(source, pipeline, o, signal);
      root = r.root;
      entries = r.entries;
      duplicateFiles = r.duplicateFiles;
    }
    await pipeline.finish();
    signal.throwIfAborted();
    progress({ phase: 'tables', done: entries });
    const inodes = serializeTree(writer, root, {
      allRoot: o.allRoot,
      ...(o.inodeTime !== undefined ? { mtime: o.inodeTime } : {}),
    });
    signal.throwIfAborted();
    renameSync(tmp, out);
    ok = true;
    return {
      bytes: statSync(out).size,
      inodes,
      entries,
      blocksCompressed: pipeline.stats.blocksCompressed,
      blocksFromCache: pipeline.stats.blocksFromCache,
      duplicateFiles,
      fragments: pipeline.stats.fragments,
    };
  } catch (err) {
    // Piscina reports its own abort error; the caller wants the reason it gave.
    throw signal.aborted ? signal.reason : err;
  } finally {
    await pool.destroy();
    await pipeline.dispose();
    closeSync(dataFd);
    writer.close();
    // The archive's end marker ends the read, not the stream: what follows (padding, a Docker export's HTTP
    // body) would hold its socket, and so the process, open.
    if (typeof source !== 'string') source.destroy();
    if (!ok) {
      try {
        unlinkSync(tmp);
      } catch {}
    }
  }
}

/**
 * Feeds every file in walk order, so neighbours share fragment blocks as they do in mksquashfs' images (the
 * order is worth over 1% of size at gzip). Only files whose size another file shares can be copies: they are
 * hashed in the pool first, and a copy points at the earlier file's data instead of being written again.
 * @returns how many files were copies.
 */
async function feedDirectory(
  pool: Piscina,
  pipeline: DataPipeline,
  all: WalkedFile[],
  rootLength: number,
  o: ResolvedOptions,
  signal: AbortSignal,
): Promise<number> {
  const countBySize = new Map<number, number>();
  for (const f of all) {
    const size = f.node.size ?? 0;
    if (size > 0) countBySize.set(size, (countBySize.get(size) ?? 0) + 1);
  }
  const shared = all.filter((f) => (countBySize.get(f.node.size ?? 0) ?? 0) > 1);
  const hashOf = hashFiles(pool, shared, rootLength, signal, o.stallTimeoutMs);
  const firstBy = new Map<string, TreeNode>();
  let copies = 0;
  for (const f of all) {
    const size = f.node.size ?? 0;
    if (size === 0) continue;
    const hash = hashOf.get(f);
    if (hash) {
      const key = `${size}:${(await hash.batch)[hash.index]}`;
      const first = firstBy.get(key);
      if (first) {
        f.node.linkData = first;
        copies++;
        pipeline.progressOnly(size);
        continue;
      }
      firstBy.set(key, f.node);
    }
    await feedFile(pipeline, f, o.cfg.blockSize);
  }
  return copies;
}

/** Content hashes of `files`, computed in the pool in batches submitted at once. */
function hashFiles(
  pool: Piscina,
  files: WalkedFile[],
  rootLength: number,
  signal: AbortSignal,
  timeoutMs: number,
): Map<WalkedFile, { batch: Promise<string[]>; index: number }> {
  const out = new Map<WalkedFile, { batch: Promise<string[]>; index: number }>();
  const submit = (batch: WalkedFile[]) => {
    const result = pool.run(
      {
        op: 'hash',
        paths: joinPaths(batch.map((f) => f.source)),
        sizes: Float64Array.from(batch, (f) => f.node.size ?? 0),
        rootLength,
      } satisfies HashTask,
      { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) },
    ) as Promise<string[]>;
    // Handled here; the await in the feeding loop still sees the failure.
    result.catch(() => {});
    batch.forEach((f, index) => {
      out.set(f, { batch: result, index });
    });
  };
  let cur: WalkedFile[] = [];
  let bytes = 0;
  for (const f of files) {
    cur.push(f);
    bytes += f.node.size ?? 0;
    if (bytes >= HASH_TASK_BYTES || cur.length >= HASH_TASK_ITEMS) {
      submit(cur);
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length) submit(cur);
  return out;
}

/** Hands a file's full blocks and tail to the pipeline; the workers read the bytes. */
async function feedFile(pipeline: DataPipeline, f: WalkedFile, blockSize: number): Promise<void> {
  const size = f.node.size ?? 0;
  const file = { path: f.source, fileSize: size };
  const full = size - (size % blockSize);
  for (let off = 0; off < full; off += pipeline.chunk)
    await pipeline.fileBlocks(f.node, file, off, Math.min(pipeline.chunk, full - off), off === 0);
  if (full < size) await pipeline.fileTail(f.node, file, full, size - full);
}
