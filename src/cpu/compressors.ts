/**
 * Block compressors the doctor measures, one instance per thread: the addon's libsquashfs compressors when the
 * addon has them (the same code the squashfs writer runs), zstd-napi for zstd (what the writer's pool uses),
 * and node:zlib for gzip until the addon provides it.
 */
import { deflateSync } from 'node:zlib';
import { Compressor } from 'zstd-napi';
import { native } from '../squashfs/native.js';
import type { CompressorSetting } from './throughput-types.js';

export interface BlockCompress {
  engine: string;
  /** Compresses one block; returns the compressed length (the input length when stored raw). */
  compress(block: Uint8Array): number;
}

interface AddonBlockCompressor {
  compress(src: Uint8Array, dst: Uint8Array): number;
}
type AddonBlockCompressorClass = new (opts: {
  comp: string;
  level?: number;
  blockSize: number;
  lz4Hc?: boolean;
}) => AddonBlockCompressor;

/** The addon's BlockCompressor class, when the loaded addon has one. */
function addonCompressorClass(): AddonBlockCompressorClass | undefined {
  try {
    const a = native() as unknown as { BlockCompressor?: unknown };
    return typeof a.BlockCompressor === 'function'
      ? (a.BlockCompressor as AddonBlockCompressorClass)
      : undefined;
  } catch {
    return undefined;
  }
}

function fromAddon(cls: AddonBlockCompressorClass, s: CompressorSetting, blockSize: number): BlockCompress {
  const opts =
    s.compressor === 'lz4'
      ? { comp: 'lz4', blockSize, lz4Hc: s.level > 0 }
      : { comp: s.compressor, level: s.level, blockSize };
  const c = new cls(opts);
  const dst = new Uint8Array(blockSize + 4096);
  return {
    engine: 'libsquashfs',
    compress: (block) => c.compress(block, dst) || block.length,
  };
}

/**
 * A compressor for the setting, or a string saying why none is available (yet).
 * @throws Error when the implementation rejects the level.
 */
export function createCompressor(s: CompressorSetting, blockSize: number): BlockCompress | string {
  if (s.compressor === 'zstd') {
    const c = new Compressor();
    c.setParameters({ compressionLevel: s.level });
    return { engine: 'zstd-napi', compress: (b) => Math.min(c.compress(b).length, b.length) };
  }
  const cls = addonCompressorClass();
  if (cls) return fromAddon(cls, s, blockSize);
  if (s.compressor === 'gzip') {
    return {
      engine: 'node:zlib',
      compress: (b) => Math.min(deflateSync(b, { level: s.level }).length, b.length),
    };
  }
  return `the native addon has no ${s.compressor} compressor yet`;
}
