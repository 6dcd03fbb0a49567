/**
 * Block compressors the doctor measures, one instance per thread: the addon's libsquashfs compressors, the same
 * code the squashfs writer's workers run for every compressor (zstd included).
 */
import { native } from '../squashfs/native.js';
import type { CompressorSetting } from './throughput-types.js';

export interface BlockCompress {
  engine: string;
  /** Compresses one block; returns the compressed length (the input length when stored raw). */
  compress(block: Uint8Array): number;
}

/**
 * A compressor for the setting, or a string saying why none is available (the addon cannot be loaded).
 * @throws Error when the addon rejects the level.
 */
export function createCompressor(s: CompressorSetting, blockSize: number): BlockCompress | string {
  let BlockCompressor: ReturnType<typeof native>['BlockCompressor'];
  try {
    BlockCompressor = native().BlockCompressor;
  } catch (err) {
    return `the native addon cannot be loaded: ${err instanceof Error ? err.message : String(err)}`;
  }
  const c =
    s.compressor === 'lz4'
      ? new BlockCompressor({ comp: 'lz4', blockSize, ...(s.level > 0 ? { lz4Hc: true } : {}) })
      : new BlockCompressor({ comp: s.compressor, level: s.level, blockSize });
  const dst = new Uint8Array(blockSize + 4096);
  return { engine: 'libsquashfs', compress: (block) => c.compress(block, dst) || block.length };
}
