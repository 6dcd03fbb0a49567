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

/** Two lists of [start, end) pairs, each in order, as one list in order of their starts (overlaps kept). */
export function mergeExtents(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length || j < b.length) {
    const fromA = j >= b.length || (i < a.length && (a[i] as number) <= (b[j] as number));
    const src = fromA ? a : b;
    const at = fromA ? i : j;
    out[o++] = src[at] as number;
    out[o++] = src[at + 1] as number;
    if (fromA) i += 2;
    else j += 2;
  }
  return out;
}

/** A copy of the pairs of `ranges` (in order) that reach into [start, end). */
export function rangesWithin(ranges: Float64Array, start: number, end: number): Float64Array {
  let lo = 0;
  let hi = ranges.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ranges[2 * mid + 1] as number) <= start) lo = mid + 1;
    else hi = mid;
  }
  let last = lo;
  while (last < ranges.length / 2 && (ranges[2 * last] as number) < end) last++;
  // A copy: a view would take its whole buffer along to a worker.
  return ranges.slice(2 * lo, 2 * last);
}
