/**
 * The qcow2 writer's view of the native addon (cluster compression, extent copy), loaded by the one loader in
 * src/squashfs/native.ts.
 */
import { findRoot, native } from '../squashfs/native.js';

/** Settings of one batch of clusters (see {@link Qcow2Addon.qcow2CompressClusters}). */
export interface ClusterOptions {
  clusterSize: number;
  /** Bytes of the raw disk; reads past it count as zeros. */
  virtualSize: number;
  /** 0: raw deflate, 1: zstd frame, 2: none (every non-zero cluster stored as is). */
  type: 0 | 1 | 2;
  level: number;
}

/** The qcow2 writer's part of the addon (native/qcow2_clusters.cc). */
export interface Qcow2Addon {
  /** [start, end) pairs of the file's data up to `size` (SEEK_DATA/SEEK_HOLE), in order. */
  qcow2DataExtents(path: string, size: number): Float64Array;
  /**
   * Reads the cluster at each offset and puts it into `out`, back to back: sizes[i] is 0 for an all-zero
   * cluster (nothing written), n > 0 for n compressed bytes, -clusterSize for a cluster stored as is.
   * With `refPath`, a cluster whose `refSizes[i]` bytes at `refHost[i]` in that image (same settings) give it
   * back exactly is copied from there, not compressed again (same bytes either way); refSizes[i] 0: none there.
   * With `refRaw` (the raw disk that image was written from), "gives it back" is checked against that disk's
   * bytes at the same offset: a read and a compare instead of a decompression.
   * With `basePath` and `baseRanges` ([start, end) byte pairs, ascending), the raw file's bytes in those ranges
   * are the base disk's (runs a fill skipped, see ext4Fill's `same`); a cluster wholly in them whose reference
   * was written from that same base disk is copied from the reference without a read.
   * On return refSizes[i] is 0 unless cluster i was copied.
   * Returns the bytes written. Error code ESHRANK: the file is shorter than `virtualSize`.
   */
  qcow2CompressClusters(
    path: string,
    offsets: Float64Array,
    opts: ClusterOptions,
    out: Uint8Array,
    sizes: Int32Array,
    refPath?: string,
    refHost?: Float64Array,
    refSizes?: Int32Array,
    refRaw?: string,
    basePath?: string,
    baseRanges?: Float64Array,
  ): number;
  /**
   * Copies the data extents of `src` into `dst` at byte `offset` (copy_file_range, on the thread pool); holes
   * are skipped. Resolves with the bytes copied; rejects with a Node-style error (code, path).
   */
  qcow2CopyExtents(src: string, dst: string, offset: number): Promise<number>;
}

/** The package root (the folder holding binding.gyp): the one the addon loader finds. */
export const packageRoot = findRoot;

/**
 * The qcow2 functions of the project's one addon, loaded once per thread by the shared loader (which also says
 * why a built addon refused to load).
 * @throws Error when the addon is not built or cannot load.
 */
export function qcow2Native(): Qcow2Addon {
  return native() as unknown as Qcow2Addon;
}
