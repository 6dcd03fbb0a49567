/** Options of the SquashFS writer, their defaults (mksquashfs's) and validation. */
import { availableParallelism } from 'node:os';
import {
  BLOCK_SIZE,
  COMPRESSOR_NAMES,
  COMPRESSORS,
  type Compression,
  DEFAULT_COMPRESSION,
  isCompression,
  levelProblem,
} from '../compressors.js';
import { UsageError } from '../errors.js';
import { envSourceDateEpoch, MAX_EPOCH } from '../source-date-epoch.js';
import type { CompressorConfig } from './native.js';

export type { Compression } from '../compressors.js';

export interface WriterOptions {
  comp?: Compression;
  /** Compression level; defaults as mksquashfs (src/compressors.ts: gzip 9, zstd 15, xz 6); lz4 has none. */
  level?: number;
  /** Data block size in bytes, a power of two from 4 KiB to 1 MiB; default 128 KiB. */
  blockSize?: number;
  /** Worker threads compressing blocks; default: available CPUs. */
  processors?: number;
  /** Paths inside the source to leave out (with everything below them), e.g. `/boot`. */
  exclude?: readonly string[];
  noXattrs?: boolean;
  /** Every entry owned by root:root. */
  allRoot?: boolean;
  /** Folder of compressed blocks kept between runs, keyed by content hash and compressor settings. */
  cacheDir?: string;
  /** Seconds since the epoch for the superblock and every inode; default `$SOURCE_DATE_EPOCH`, else now. */
  sourceDateEpoch?: number;
  /** A worker task or the tar stream making no progress for this long fails the run; default 300 s. */
  stallTimeoutMs?: number;
}

export interface ResolvedOptions {
  cfg: CompressorConfig;
  processors: number;
  excludes: Set<string>;
  noXattrs: boolean;
  allRoot: boolean;
  cacheDir?: string;
  mkfsTime: number;
  inodeTime?: number;
  stallTimeoutMs: number;
}

/** Each compressor's default level (mksquashfs'; lz4 has none), from the table. */
export const DEFAULT_LEVEL: Record<Compression, number | undefined> = Object.fromEntries(
  COMPRESSOR_NAMES.map((c) => [c, COMPRESSORS[c].levels?.default]),
) as Record<Compression, number | undefined>;

/**
 * Validates options and fills in defaults.
 * @throws UsageError naming the option and what is expected.
 */
export function resolveOptions(o: WriterOptions, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const comp = o.comp ?? DEFAULT_COMPRESSION;
  if (!isCompression(comp))
    throw new UsageError(`comp: expected one of ${COMPRESSOR_NAMES.join(', ')}, got ${String(comp)}`);
  const range = COMPRESSORS[comp].levels;
  let level = o.level ?? range?.default;
  if (o.level !== undefined) {
    const why = levelProblem(comp, o.level);
    if (why) throw new UsageError(`level: ${why}`);
  }
  if (!range) level = undefined;
  const blockSize = o.blockSize ?? BLOCK_SIZE.default;
  if (
    !Number.isInteger(blockSize) ||
    blockSize < BLOCK_SIZE.min ||
    blockSize > BLOCK_SIZE.max ||
    (blockSize & (blockSize - 1)) !== 0
  )
    throw new UsageError(
      `block size: expected a power of two from ${BLOCK_SIZE.min} to ${BLOCK_SIZE.max}, got ${blockSize}`,
    );
  const processors = o.processors ?? availableParallelism();
  if (!Number.isInteger(processors) || processors < 1 || processors > 256)
    throw new UsageError(`processors: expected an integer from 1 to 256, got ${processors}`);
  const sde = o.sourceDateEpoch ?? envSourceDateEpoch(env);
  if (sde !== undefined && (!Number.isInteger(sde) || sde < 0 || sde > MAX_EPOCH))
    throw new UsageError(`source date epoch: expected seconds from 0 to ${MAX_EPOCH}, got ${sde}`);
  const stallTimeoutMs = o.stallTimeoutMs ?? 300_000;
  const cfg: CompressorConfig = { comp, blockSize };
  if (level !== undefined) cfg.level = level;
  const r: ResolvedOptions = {
    cfg,
    processors,
    excludes: new Set(
      (o.exclude ?? [])
        .map((p) =>
          p
            .split('/')
            .filter((s) => s && s !== '.')
            .join('/'),
        )
        .filter(Boolean),
    ),
    noXattrs: o.noXattrs ?? false,
    allRoot: o.allRoot ?? false,
    mkfsTime: sde ?? Math.floor(Date.now() / 1000),
    stallTimeoutMs,
  };
  if (sde !== undefined) r.inodeTime = sde;
  if (o.cacheDir) r.cacheDir = o.cacheDir;
  return r;
}
