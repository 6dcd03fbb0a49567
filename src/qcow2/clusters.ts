/**
 * Which guest clusters a raw disk's data extents touch: the clusters the qcow2 writer has to write.
 */
import { CLUSTER_SIZE } from './format.js';

/**
 * Guest offsets of the clusters that data extents touch ([start, end) pairs, in order), each once. An
 * extent that starts or ends inside a cluster takes the whole cluster; its hole part reads as zeros.
 */
export function clustersOfExtents(extents: Float64Array): Float64Array {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i + 1 < extents.length; i += 2) {
    const start = extents[i] as number;
    const end = extents[i + 1] as number;
    if (end <= start) continue;
    let c = Math.max(next, Math.floor(start / CLUSTER_SIZE) * CLUSTER_SIZE);
    for (; c < end; c += CLUSTER_SIZE) out.push(c);
    next = Math.max(next, c);
  }
  return Float64Array.from(out);
}
