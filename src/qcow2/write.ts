/**
 * Writes a compressed qcow2 (version 3, 64 KiB clusters, 16-bit refcounts) from a sparse raw disk: only
 * the clusters its data extents touch are read; a pool of workers compresses batches of them, and this thread
 * places the results in order, so the bytes are the same whatever the number of workers.
 */

import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { clustersOfExtents, mergeExtents, rangesWithin } from './clusters.js';
import { CLUSTER_SIZE, type CompressionType, SECTOR } from './format.js';
import { type Piece, planMetadata } from './layout.js';
import { type ClusterOptions, packageRoot, qcow2Native } from './native.js';
import { Placement, type PlacementStats } from './place.js';
import { LiveReference, type Qcow2Reference } from './reference.js';
import { type ClusterTask, clusterResult, slotBytes } from './worker.js';

export type { Qcow2Reference } from './reference.js';

export interface Qcow2WriteOptions {
  /** Compressed clusters (the default); off stores every non-zero cluster as is. */
  compress?: boolean;
  compression: CompressionType;
  /** libdeflate level 1-12 (default 2) or zstd level 1-22 (default 3, as qemu). */
  level?: number;
  /** Worker threads (default: the CPUs this process may use). The output does not depend on it. */
  processors?: number;
  signal?: AbortSignal;
  /** Bytes of clusters read so far, of `total`. */
  onProgress?: (done: number, total: number) => void;
  /**
   * An image of the same virtual size, compression and level (another bundle of the same layout), written
   * before or being written: a cluster it holds at the same guest offset that gives back exactly this disk's
   * cluster is copied from it instead of compressed again; while it is written, this writer follows it. The
   * bytes written are the same with or without it.
   */
  reuse?: Qcow2Reference;
  /**
   * Hands this image out as a reference as soon as writing starts. It holds the image and the raw disk open
   * (a removed raw disk keeps its space) until its receiver closes it. Later writers compare their clusters
   * with that raw disk: it must not change while the reference is held.
   */
  share?: (ref: Qcow2Reference) => void;
  /**
   * The disk's bytes in `ranges` ([start, end) pairs, ascending) are those of the disk at `raw` (another
   * bundle's, from which its fill skipped them: ext4Fill's `same`), whatever `raw` of this call holds there.
   * `raw` must not change while this writes.
   */
  base?: { raw: string; ranges: Float64Array };
}

export interface Qcow2WriteResult extends PlacementStats {
  /** Bytes of the image file. */
  bytes: number;
  virtualSize: number;
  /** Clusters copied from `reuse` rather than compressed. */
  reused: number;
  /** This image as a reference for later ones, once it is at `path` (close it when done). */
  reference: (path: string) => Qcow2Reference;
}

/** Clusters per worker task: 4 MiB, big enough that a task's round trip is lost in its compression time. */
const BATCH = 64;
/** Tasks handed to each worker ahead (in flight: 4 MiB of input and its result each). */
const QUEUED = 4;
/**
 * libdeflate 2: on a 1.3 GB Debian disk (bench/results/qcow2.md) 0.96× the size of `qemu-img convert -c` for
 * about 0.3× its CPU time (level 1: 0.995×, 0.24×; level 6: 0.935×, 0.46×). zstd 3 is qemu's own level.
 */
const DEFAULT_LEVEL: Record<CompressionType, number> = { zlib: 2, zstd: 3 };

function clusterOptions(o: Qcow2WriteOptions, virtualSize: number): ClusterOptions {
  const type = o.compress === false ? 2 : o.compression === 'zstd' ? 1 : 0;
  return { clusterSize: CLUSTER_SIZE, virtualSize, type, level: o.level ?? DEFAULT_LEVEL[o.compression] };
}

const noReuse = (): Pick<ClusterTask, 'reuse'> => ({});

/** Per batch, where the reference holds its clusters, when the reference has the same settings. */
function reuseFrom(
  ref: Qcow2Reference | undefined,
  o: Qcow2WriteOptions,
  opts: ClusterOptions,
): (offsets: Float64Array) => Pick<ClusterTask, 'reuse'> {
  const same =
    ref?.virtualSize === opts.virtualSize &&
    ref.compression === o.compression &&
    ref.level === opts.level &&
    o.compress !== false;
  if (!ref || !same) return noReuse;
  return (offsets) => {
    const path = ref.path();
    if (path === undefined) return {};
    const raw = ref.raw();
    const host = new Float64Array(offsets.length);
    const sizes = new Int32Array(offsets.length);
    for (const [i, at] of offsets.entries()) {
      const h = ref.held.get(at / CLUSTER_SIZE);
      if (h) [host[i], sizes[i]] = h;
    }
    return { reuse: { path, host, sizes, ...(raw === undefined ? {} : { raw }) } };
  };
}

/** Per batch, what a task takes besides its clusters: the reference's (`reuseOf`) and the base's ranges in reach. */
function withBase(
  reuseOf: (offsets: Float64Array) => Pick<ClusterTask, 'reuse'>,
  base: Qcow2WriteOptions['base'],
): (offsets: Float64Array) => Pick<ClusterTask, 'reuse' | 'base'> {
  if (!base) return reuseOf;
  return (offsets) => {
    const end = (offsets.at(-1) as number) + CLUSTER_SIZE;
    return {
      ...reuseOf(offsets),
      base: { raw: base.raw, ranges: rangesWithin(base.ranges, offsets[0] as number, end) },
    };
  };
}

/** Rejects with the signal's reason once it fires; `off` stops listening (the caller's signal outlives us). */
function onAbort(signal: AbortSignal | undefined): { stop: Promise<never>; off: () => void } {
  let off = (): void => {};
  const stop = new Promise<never>((_, reject) => {
    if (!signal) return;
    const fire = (): void => reject(signal.reason);
    signal.addEventListener('abort', fire, { once: true });
    off = () => signal.removeEventListener('abort', fire);
  });
  stop.catch(() => {});
  return { stop, off };
}

/**
 * Converts the raw disk `raw` into the qcow2 file `out` (created or truncated; the caller renames it into
 * place). The raw file's length is the virtual size.
 * @throws Error naming the raw file when it cannot be read or shrinks, the caller's abort reason on abort.
 */
export async function writeQcow2(raw: string, out: string, o: Qcow2WriteOptions): Promise<Qcow2WriteResult> {
  o.signal?.throwIfAborted();
  const { virtualSize, clusters } = await clustersToWrite(raw, o.base);
  const opts = clusterOptions(o, virtualSize);
  const total = clusters.length * CLUSTER_SIZE;
  const processors = Math.max(1, o.processors ?? availableParallelism());
  const fh = await open(out, 'w');
  const { stop, off } = onAbort(o.signal);
  const placement = new Placement();
  const reuseOf = reuseFrom(o.reuse, o, opts);
  const follow = reuseOf === noReuse ? undefined : o.reuse;
  const extras = withBase(reuseOf, o.base);
  // With a base, the raw disk alone is not this image's disk: later writers compare with its bytes decompressed.
  const live = o.share
    ? new LiveReference(virtualSize, o.compression, opts.level, placement.held, out, o.base ? undefined : raw)
    : undefined;
  if (live) o.share?.(live);
  let reused = 0;
  let ok = false;
  let pool: Piscina<ClusterTask, number> | undefined;
  try {
    const workers = clusterPool(processors);
    pool = workers;
    const writeAll = async (pieces: Piece[]): Promise<void> => {
      for (const p of pieces) {
        for (let done = 0; done < p.bytes.length; ) {
          const { bytesWritten } = await fh.write(p.bytes, done, p.bytes.length - done, p.offset + done);
          done += bytesWritten;
        }
      }
    };
    const batches = Math.ceil(clusters.length / BATCH);
    const window = processors * QUEUED;
    // Batch k's result goes to slot k % window: batch k + window is handed out only after batch k was written.
    const slotSize = slotBytes(BATCH, CLUSTER_SIZE);
    const shared = new SharedArrayBuffer(slotSize * Math.min(window, batches));
    const slotOf = (k: number): Uint8Array => new Uint8Array(shared, (k % window) * slotSize, slotSize);
    const pending: Promise<number>[] = [];
    let next = 0;
    let lastReport = 0;
    for (let b = 0; b < batches; b++) {
      o.signal?.throwIfAborted();
      while (next < batches && pending.length < window) {
        const offsets = clusters.slice(next * BATCH, (next + 1) * BATCH);
        if (follow) await Promise.race([follow.reached((offsets.at(-1) as number) + CLUSTER_SIZE), stop]);
        const result = workers.run({ path: raw, offsets, opts, slot: slotOf(next), ...extras(offsets) });
        result.catch(() => {});
        pending.push(result);
        next++;
      }
      const used = await Promise.race([pending.shift() as Promise<number>, stop]);
      const offsets = clusters.subarray(b * BATCH, (b + 1) * BATCH);
      const { reused: copied, sizes, data } = clusterResult(slotOf(b), offsets.length, used);
      reused += copied;
      await writeAll(placement.place(offsets, sizes, data));
      live?.advance((offsets.at(-1) as number) + CLUSTER_SIZE);
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
    ok = true;
    const reference = (path: string): Qcow2Reference => {
      const done = new LiveReference(virtualSize, o.compression, opts.level, placement.held, path);
      done.finish(true);
      return done;
    };
    return { bytes: meta.fileSize, virtualSize, ...placement.stats, reused, reference };
  } catch (err) {
    throw o.signal?.aborted ? o.signal.reason : withPath(err, raw);
  } finally {
    live?.finish(ok);
    off();
    await fh.close();
    await pool?.destroy();
  }
}

/** The raw disk's size, and the guest offsets of the clusters its data (and the base's ranges) touch. */
async function clustersToWrite(
  raw: string,
  base: Qcow2WriteOptions['base'],
): Promise<{ virtualSize: number; clusters: Float64Array }> {
  const virtualSize = (await stat(raw)).size;
  if (virtualSize <= 0 || virtualSize % SECTOR !== 0)
    throw new Error(`${raw}: a raw disk of whole 512-byte sectors is expected, got ${virtualSize} bytes`);
  const extents = qcow2Native().qcow2DataExtents(raw, virtualSize);
  return { virtualSize, clusters: clustersOfExtents(base ? mergeExtents(extents, base.ranges) : extents) };
}

/** The compression workers: the output does not depend on how many. */
function clusterPool(processors: number): Piscina<ClusterTask, number> {
  return new Piscina<ClusterTask, number>({
    filename: join(packageRoot(), 'dist', 'src', 'qcow2', 'worker.js'),
    minThreads: processors,
    maxThreads: processors,
    // Tasks wait in each worker, so a worker goes on without a round trip to this thread (which, on a busy
    // machine, may wait for a time slice).
    concurrentTasksPerWorker: QUEUED,
    idleTimeout: 1000,
  });
}

/** A read failure from a worker, said in terms of the raw disk. */
function withPath(err: unknown, raw: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ESHRANK') return new Error(`${raw}: the raw disk shrank while it was read`, { cause: err });
  return err;
}
