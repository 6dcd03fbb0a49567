/**
 * The one table of SquashFS compressors: names, ids, level ranges and defaults (mksquashfs' and libsquashfs'),
 * and the block size limits. The writer's options, the livecd schema, the CLI help and the block cache read it
 * here; the native addon exports its own copy, and src/squashfs/native.ts refuses to load an addon that
 * disagrees. A leaf module (no imports), so every layer may use it.
 */

export const COMPRESSOR_NAMES = ['gzip', 'xz', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSOR_NAMES)[number];

/** A compressor's SquashFS id and, when it takes one, its level range and default. */
export interface CompressorRow {
  id: number;
  levels?: { min: number; max: number; default: number };
}

export const COMPRESSORS: Readonly<Record<Compression, CompressorRow>> = {
  gzip: { id: 1, levels: { min: 1, max: 9, default: 9 } },
  xz: { id: 4, levels: { min: 0, max: 9, default: 6 } },
  lz4: { id: 5 },
  zstd: { id: 6, levels: { min: 1, max: 22, default: 15 } },
};

/** The compressor when none is named: mksquashfs' default. */
export const DEFAULT_COMPRESSION: Compression = 'gzip';

/** Data block sizes: powers of two in this range. */
export const BLOCK_SIZE = { min: 4096, max: 1 << 20, default: 131072 } as const;

export function isCompression(v: unknown): v is Compression {
  return (COMPRESSOR_NAMES as readonly unknown[]).includes(v);
}

/** Why `level` cannot be used with `comp` ("lz4 takes no level", the range), or undefined when it can. */
export function levelProblem(comp: Compression, level: number): string | undefined {
  const l = COMPRESSORS[comp].levels;
  if (!l) return `${comp} takes no level`;
  if (!Number.isInteger(level) || level < l.min || level > l.max)
    return `${comp} expects an integer from ${l.min} to ${l.max}, got ${level}`;
  return undefined;
}

/** "gzip 9, xz 6, zstd 15": the defaults, for help texts. */
export function defaultLevelsText(): string {
  return COMPRESSOR_NAMES.flatMap((c) => {
    const l = COMPRESSORS[c].levels;
    return l ? [`${c} ${l.default}`] : [];
  }).join(', ');
}

/** "gzip 1-9, xz 0-9, zstd 1-22 (lz4 takes none)": the ranges, for messages. */
export function levelRangesText(): string {
  const ranges = COMPRESSOR_NAMES.flatMap((c) => {
    const l = COMPRESSORS[c].levels;
    return l ? [`${c} ${l.min}-${l.max}`] : [];
  });
  const none = COMPRESSOR_NAMES.filter((c) => !COMPRESSORS[c].levels);
  return `${ranges.join(', ')} (${none.join(', ')} takes none)`;
}
