/** Piscina worker: one batch of clusters read and compressed by the addon, synchronously. */
import { type ClusterOptions, qcow2Native } from './native.js';

export interface ClusterTask {
  /** The raw disk (latin1 path bytes). */
  path: string;
  /** Guest byte offset of each cluster, ascending. */
  offsets: Float64Array;
  opts: ClusterOptions;
}

export interface ClusterResult {
  /** Per cluster: 0 all zeros, n > 0 compressed bytes, -clusterSize stored as is. */
  sizes: Int32Array;
  /** The clusters' bytes back to back. */
  data: Uint8Array;
}

export default function run(task: ClusterTask): ClusterResult {
  const n = task.offsets.length;
  const out = new Uint8Array(n * task.opts.clusterSize);
  const sizes = new Int32Array(n);
  const used = qcow2Native().qcow2CompressClusters(task.path, task.offsets, task.opts, out, sizes);
  // A copy of just the used bytes: a view would take the whole buffer across.
  return { sizes, data: out.slice(0, used) };
}
