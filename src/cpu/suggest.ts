/**
 * Compressor throughput as the doctor measures it, the squashfs time of a rootfs it implies, and the compressor
 * setting that fits a time budget.
 */
import type { Compression } from '../compressors.js';

export type CompressorName = Compression;

/** One compressor setting to measure. */
export interface CompressorSetting {
  compressor: CompressorName;
  /** Level; 0 for lz4, which takes none. */
  level: number;
}

export interface Throughput extends CompressorSetting {
  /** `measured`; `pending` when the native addon cannot be loaded; `failed` when the writer refused it. */
  status: 'measured' | 'pending' | 'failed';
  /** Which implementation was measured: `libsquashfs` (the writer's own compressors). */
  engine?: string;
  /** Input MB/s (10^6 bytes) on one core. */
  singleMBps?: number;
  /** Input MB/s with `workers` workers at once. */
  allMBps?: number;
  workers?: number;
  /** Compressed size / input size on the sample, squashfs-style blocks (incompressible blocks stored raw). */
  ratio?: number;
  /** Why it is pending or failed. */
  note?: string;
}

/** Rootfs size used when neither the caller nor a previous build says (the Debian 12 rootfs measured here). */
export const TYPICAL_ROOTFS_BYTES = 840e6;

/** Budget used when the user gives none. */
export const DEFAULT_BUDGET_SECONDS = 60;

export interface Estimate extends CompressorSetting {
  /** Seconds to compress the rootfs with every worker (compression dominates the writer's time). */
  seconds: number;
  /** Estimated image size in bytes. */
  bytes: number;
}

export interface Suggestion extends Estimate {
  budgetSeconds: number;
  /** False when no measured setting fits the budget; then this is the fastest one. */
  fits: boolean;
  reason: string;
}

/** Time and size for each measured setting. */
export function estimates(throughputs: readonly Throughput[], rootfsBytes: number): Estimate[] {
  const out: Estimate[] = [];
  for (const t of throughputs) {
    if (t.status !== 'measured' || !t.allMBps || t.ratio === undefined) continue;
    out.push({
      compressor: t.compressor,
      level: t.level,
      seconds: Math.round((rootfsBytes / 1e6 / t.allMBps) * 10) / 10,
      bytes: Math.round(rootfsBytes * t.ratio),
    });
  }
  return out;
}

export function settingName(s: CompressorSetting): string {
  if (s.compressor === 'lz4') return 'lz4';
  return `${s.compressor} level ${s.level}`;
}

/** The smallest image among settings that finish within the budget; the fastest when none does. */
export function suggest(
  throughputs: readonly Throughput[],
  rootfsBytes: number,
  budgetSeconds: number = DEFAULT_BUDGET_SECONDS,
): Suggestion | undefined {
  const all = estimates(throughputs, rootfsBytes);
  if (all.length === 0) return undefined;
  const within = all.filter((e) => e.seconds <= budgetSeconds);
  if (within.length) {
    const best = [...within].sort((a, b) => a.bytes - b.bytes || a.seconds - b.seconds)[0] as Estimate;
    return {
      ...best,
      budgetSeconds,
      fits: true,
      reason: `smallest image among the settings that compress ${(rootfsBytes / 1e6).toFixed(0)} MB within ${budgetSeconds} s`,
    };
  }
  const fastest = [...all].sort((a, b) => a.seconds - b.seconds)[0] as Estimate;
  return {
    ...fastest,
    budgetSeconds,
    fits: false,
    reason: `no measured setting fits ${budgetSeconds} s; this is the fastest`,
  };
}
