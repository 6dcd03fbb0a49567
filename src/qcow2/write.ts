/**
 * Writes a compressed qcow2 (version 3, 64 KiB clusters, 16-bit refcounts) from a sparse raw disk: only
 * the clusters its data extents touch are read; a pool of workers compresses batches of them, and this thread
 * places the results in order, so the bytes are the same whatever the number of workers.
 */

import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { clustersOfExtents } from './clusters.js';
import { CLUSTER_SIZE, type CompressionType, SECTOR } from './format.js';
import { type Piece, planMetadata } from './layout.js';
import { type ClusterOptions, packageRoot, qcow2Native } from './native.js';
import { Placement, type PlacementStats } from './place.js';
import type { ClusterResult, ClusterTask } from './worker.js';

export interface Qcow2WriteOptions {
  /** Compressed clusters (the default); off stores every non-zero cluster as is. */
  compress?: boolean;
  compression: CompressionType;
  /** libdeflate level 1-12 (default 6) or zstd level 1-22 (default 3, as qemu). */
  level?: number;
  /** Worker threads (default: the CPUs this process may use). The output does not depend on it. */
  processors?: number;
  signal?: AbortSignal;
  /** Bytes of clusters read so far, of `total`. */
  onProgress?: (done: number, total: number) => void;
}

export interface Qcow2WriteResult extends PlacementStats {
  /** Bytes of the image file. */
  bytes: number;
  virtualSize: number;
}

/** Clusters per worker task: 4 MiB, big enough that a task's round trip is lost in its compression time. */
const BATCH = 64;
const DEFAULT_LEVEL: Record<CompressionType, number> = { zlib: 6, zstd: 3 };

function clusterOptions(o: Qcow2WriteOptions, virtualSize: number): ClusterOptions {
  const type = o.compress === false ? 2 : o.compression === 'zstd' ? 1 : 0;
  return { clusterSize: CLUSTER_SIZE, virtualSize, type, level: o.level ?? DEFAULT_LEVEL[o.compression] };
}

function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * Converts the raw disk `raw` into the qcow2 file `out` (created or truncated; the caller renames it into
 * place). The raw file's length is the virtual size.
 * @throws Error naming the raw file when it cannot be read or shrinks, the caller's abort reason on abort.
 */
export async function writeQcow2(raw: string, out: string, o: Qcow2WriteOptions): Promise<Qcow2WriteResult> {
  o.signal?.throwIfAborted();
  const addon = qcow2Native();
  const src = await open(raw, 'r');
  const virtualSize = (await src.stat()).size;
  await src.close();
  if (virtualSize <= 0 || virtualSize % SECTOR !== 0)
    throw new Error(`${raw}: a raw disk of whole 512-byte sectors is expected, got ${virtualSize} bytes`);
  const clusters = clustersOfExtents(addon.qcow2DataExtents(raw, virtualSize));
  const opts = clusterOptions(o, virtualSize);
  const total = clusters.length * CLUSTER_SIZE;
  const processors = Math.max(1, o.processors ?? availableParallelism());
  const pool = new Piscina<ClusterTask, ClusterResult>({
    filename: join(packageRoot(), 'dist', 'src', 'qcow2', 'worker.js'),
    minThreads: processors,
    maxThreads: processors,
    // A second task waits in each worker, so a worker goes on without a round trip to this thread.
    concurrentTasksPerWorker: 2,
    idleTimeout: 1000,
  });
  const stop = aborted(o.signal);
  stop.catch(() => {});
  const fh = await open(out, 'w');
  const placement = new Placement();
  try {
    const writeAll = async (pieces: Piece[]): Promise<void> => {
      for (const p of pieces) {
        for (let done = 0; done < p.bytes.length; ) {
          const { bytesWritten } = await fh.write(p.bytes, done, p.bytes.length - done, p.offset + done);
          done += bytesWritten;
        }
      }
    };
    const batches = Math.ceil(clusters.length / BATCH);
    const window = processors * 2;
    const pending: Promise<ClusterResult>[] = [];
    let next = 0;
    let lastReport = 0;
    for (let b = 0; b < batches; b++) {
      o.signal?.throwIfAborted();
      while (next < batches && pending.length < window) {
        const offsets = clusters.slice(next * BATCH, (next + 1) * BATCH);
        const result = pool.run({ path: raw, offsets, opts });
        result.catch(() => {});
        pending.push(result);
        next++;
      }
      const r = await Promise.race([pending.shift() as Promise<ClusterResult>, stop]);
      const offsets = clusters.subarray(b * BATCH, (b + 1) * BATCH);
      await writeAll(placement.place(offsets, r.sizes, r.data));
      const done = Math.min(total, (b + 1) * BATCH * CLUSTER_SIZE);
      if (o.onProgress && (Date.now() - lastReport > 200 || done === total)) {
        lastReport = Date.now();
        o.onProgress(done, total);
      }
    }
    o.signal?.throwIfAborted();
    const meta = planMetadata({
      virtualSize,
      compression: o.compression,
      dataEnd: placement.end,
      l2Tables: placement.l2Tables,
      refcounts: placement.refcounts,
    });
    await writeAll(meta.pieces);
    // No fsync, as qemu-img convert (cache=unsafe) and the SquashFS writer: the caller renames the file.
    await fh.truncate(meta.fileSize);
    return { bytes: meta.fileSize, virtualSize, ...placement.stats };
  } catch (err) {
    throw o.signal?.aborted ? o.signal.reason : withPath(err, raw);
  } finally {
    await fh.close();
    await pool.destroy();
  }
}

/** A read failure from a worker, said in terms of the raw disk. */
function withPath(err: unknown, raw: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ESHRANK') return new Error(`${raw}: the raw disk shrank while it was read`, { cause: err });
  return err;
}
