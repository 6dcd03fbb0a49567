/**
 * Runs one SquashFS build: source → tree + data pipeline → tables → temp file renamed over the output.
 * A failure or abort removes the temp file, so no partial output is ever left behind.
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Piscina } from 'piscina';
import { walkDirectory } from './dir-source.js';
import { findRoot, native } from './native.js';
import type { ResolvedOptions } from './options.js';
import { DataPipeline } from './pipeline.js';
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
      total = walked.files.reduce((s, f) => s + (f.node.size ?? 0), 0);
      // Files whose size no other file has cannot be duplicates: their data flows while the others are hashed.
      const { candidates, hashing } = dedupByHash(pool, walked.files, signal, o.stallTimeoutMs);
      hashing.catch(() => {});
      await feedFiles(
        pipeline,
        walked.files.filter((f) => !candidates.has(f)),
        o.cfg.blockSize,
      );
      duplicateFiles = await hashing;
      await feedFiles(pipeline, [...candidates], o.cfg.blockSize);
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
    if (!ok) {
      try {
        unlinkSync(tmp);
      } catch {}
    }
  }
}

interface Walked {
  node: TreeNode;
  source: Buffer;
}

/** Hashes only files whose size another file shares; later copies point at the first one's data. */
function dedupByHash(
  pool: Piscina,
  files: Walked[],
  signal: AbortSignal,
  timeoutMs: number,
): { candidates: Set<Walked>; hashing: Promise<number> } {
  const bySize = new Map<number, Walked[]>();
  for (const f of files) {
    const s = f.node.size ?? 0;
    if (s === 0) continue;
    const list = bySize.get(s);
    if (list) list.push(f);
    else bySize.set(s, [f]);
  }
  const candidates = files.filter((f) => (bySize.get(f.node.size ?? 0)?.length ?? 0) > 1);
  const batches: Walked[][] = [];
  let cur: Walked[] = [];
  let bytes = 0;
  for (const f of candidates) {
    cur.push(f);
    bytes += f.node.size ?? 0;
    if (bytes >= HASH_TASK_BYTES || cur.length >= HASH_TASK_ITEMS) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length) batches.push(cur);
  const hashing = Promise.all(
    batches.map(
      (b) =>
        pool.run(
          {
            op: 'hash',
            items: b.map((f) => ({
              path: f.source.toString('latin1'),
              display: f.node.path,
              size: f.node.size ?? 0,
            })),
          },
          { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) },
        ) as Promise<string[]>,
    ),
  );
  return {
    candidates: new Set(candidates),
    hashing: hashing.then((hashes) => {
      const firstBy = new Map<string, TreeNode>();
      let dups = 0;
      // Batches keep image order, so "first" is deterministic.
      batches.forEach((b, i) => {
        b.forEach((f, j) => {
          const key = `${f.node.size}:${hashes[i]?.[j]}`;
          const first = firstBy.get(key);
          if (first) {
            f.node.linkData = first;
            dups++;
          } else firstBy.set(key, f.node);
        });
      });
      return dups;
    }),
  };
}

/** Hands each file's full blocks and tail to the pipeline, in image order; the workers read the bytes. */
async function feedFiles(pipeline: DataPipeline, files: Walked[], blockSize: number): Promise<void> {
  const chunk = pipeline.chunk;
  for (const f of files) {
    const size = f.node.size ?? 0;
    if (size === 0 || f.node.linkData) continue;
    const file = { path: f.source.toString('latin1'), display: f.node.path, fileSize: size };
    const full = size - (size % blockSize);
    for (let off = 0; off < full; off += chunk)
      await pipeline.fileBlocks(f.node, file, off, Math.min(chunk, full - off), off === 0);
    if (full < size) await pipeline.fileTail(f.node, file, full, size - full);
  }
}
