/** Piscina worker: one batch of clusters read and compressed by the addon, synchronously. */
import { type ClusterOptions, qcow2Native } from './native.js';

export interface ClusterTask {
  /** The raw disk (latin1 path bytes). */
  path: string;
  /** Guest byte offset of each cluster, ascending. */
  offsets: Float64Array;
  opts: ClusterOptions;
  /**
   * Where the result goes: a view of the writer's shared memory, {@link slotBytes} long, that only this task
   * uses until the writer has written it out. Shared rather than moved: a fresh 4 MiB buffer per batch (zeroed,
   * faulted in, then garbage) had the writer's thread in a full collection every ~100 ms; a one-bundle cut took
   * ~8 CPU-s more.
   */
  slot: Uint8Array;
  /**
   * An image of the same settings to take identical clusters from: per offset, host offset and size (0: none);
   * `raw`, the disk it was written from, to compare clusters with instead of its bytes decompressed.
   */
  reuse?: { path: string; host: Float64Array; sizes: Int32Array; raw?: string };
  /** The disk whose bytes this one has in `ranges` (see Qcow2WriteOptions.base), those reaching this batch. */
  base?: { raw: string; ranges: Float64Array };
}

/** Bytes a task's slot needs for a batch of `n` clusters of `clusterSize` (see {@link clusterResult}). */
export function slotBytes(n: number, clusterSize: number): number {
  return 4 * (n + 1) + n * clusterSize;
}

/**
 * Fills the task's slot: an Int32 count of clusters copied from the reference, per cluster an Int32 size (0 all
 * zeros, n > 0 compressed bytes, -clusterSize stored as is), then the clusters' bytes back to back. Returns the
 * bytes used after the sizes. Read the slot with {@link clusterResult}.
 */
export default function run(task: ClusterTask): number {
  const n = task.offsets.length;
  const { slot } = task;
  if (slot.byteLength < slotBytes(n, task.opts.clusterSize))
    throw new RangeError('cluster task: slot too small');
  const head = 4 * (n + 1);
  const sizes = new Int32Array(slot.buffer, slot.byteOffset + 4, n);
  const out = slot.subarray(head);
  const addon = qcow2Native();
  const r = task.reuse;
  const b = task.base;
  // The addon takes an undefined reference or base as none.
  const used = addon.qcow2CompressClusters(
    task.path,
    task.offsets,
    task.opts,
    out,
    sizes,
    r?.path,
    r?.host,
    r?.sizes,
    r?.raw,
    b?.raw,
    b?.ranges,
  );
  new Int32Array(slot.buffer, slot.byteOffset, 1)[0] = r ? r.sizes.filter((s) => s !== 0).length : 0;
  return used;
}

/** The sizes and bytes of a batch of `n` clusters in a filled slot, and how many came from the reference. */
export function clusterResult(
  slot: Uint8Array,
  n: number,
  used: number,
): { reused: number; sizes: Int32Array; data: Uint8Array } {
  const head = 4 * (n + 1);
  return {
    reused: new Int32Array(slot.buffer, slot.byteOffset, 1)[0] ?? 0,
    sizes: new Int32Array(slot.buffer, slot.byteOffset + 4, n),
    data: slot.subarray(head, head + used),
  };
}
