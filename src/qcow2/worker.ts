/** Piscina worker: one batch of clusters read and compressed by the addon, synchronously. */
import { Piscina } from 'piscina';
import { type ClusterOptions, qcow2Native } from './native.js';

export interface ClusterTask {
  /** The raw disk (latin1 path bytes). */
  path: string;
  /** Guest byte offset of each cluster, ascending. */
  offsets: Float64Array;
  opts: ClusterOptions;
  /** An image of the same settings to take identical clusters from: per offset, host offset and size (0: none). */
  reuse?: { path: string; host: Float64Array; sizes: Int32Array };
}

/**
 * One buffer, moved to the caller rather than copied (a copy of every batch cost the writer's thread about 3 s
 * per GB): an Int32 count of clusters copied from the reference, per cluster an Int32 size (0 all zeros, n > 0
 * compressed bytes, -clusterSize stored as is), then the clusters' bytes back to back. Read it with
 * {@link clusterResult}.
 */
export type ClusterResult = Uint8Array;

export default function run(task: ClusterTask): ClusterResult {
  const n = task.offsets.length;
  const head = 4 * (n + 1);
  const buf = new ArrayBuffer(head + n * task.opts.clusterSize);
  const sizes = new Int32Array(buf, 4, n);
  const out = new Uint8Array(buf, head);
  const addon = qcow2Native();
  const r = task.reuse;
  const used = r
    ? addon.qcow2CompressClusters(task.path, task.offsets, task.opts, out, sizes, r.path, r.host, r.sizes)
    : addon.qcow2CompressClusters(task.path, task.offsets, task.opts, out, sizes);
  new Int32Array(buf, 0, 1)[0] = r ? r.sizes.filter((s) => s !== 0).length : 0;
  return Piscina.move(new Uint8Array(buf, 0, head + used)) as Uint8Array;
}

/** The sizes and bytes of a batch of `n` clusters, and how many came from the reference. */
export function clusterResult(
  r: ClusterResult,
  n: number,
): { reused: number; sizes: Int32Array; data: Uint8Array } {
  return {
    reused: new Int32Array(r.buffer, r.byteOffset, 1)[0] ?? 0,
    sizes: new Int32Array(r.buffer, r.byteOffset + 4, n),
    data: r.subarray(4 * (n + 1)),
  };
}
