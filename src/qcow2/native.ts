import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
   * Returns the bytes written. Error code ESHRANK: the file is shorter than `virtualSize`.
   */
  qcow2CompressClusters(
    path: string,
    offsets: Float64Array,
    opts: ClusterOptions,
    out: Uint8Array,
    sizes: Int32Array,
  ): number;
  /**
   * Copies the data extents of `src` into `dst` at byte `offset` (copy_file_range, on the thread pool); holes
   * are skipped. Resolves with the bytes copied; rejects with a Node-style error (code, path).
   */
  qcow2CopyExtents(src: string, dst: string, offset: number): Promise<number>;
}

const require = createRequire(import.meta.url);

/** The package root (the folder holding binding.gyp), from src/qcow2 or dist/src/qcow2. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('airship-image-builder: cannot find the package root (binding.gyp)');
}

let addon: Qcow2Addon | undefined;

/** Loads the addon once per thread. @throws Error when it is not built. */
export function qcow2Native(): Qcow2Addon {
  if (!addon) {
    const path = join(packageRoot(), 'build', 'Release', 'airship_native.node');
    try {
      addon = require(path) as Qcow2Addon;
    } catch (err) {
      throw new Error(`native addon not built (${path}); run \`npm run build:native\``, { cause: err });
    }
  }
  return addon;
}
