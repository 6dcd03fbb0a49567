/**
 * What missing flags cost each compressor. These are estimates (ranges), not measurements: one host cannot
 * switch its own flags off. The doctor measures the throughput it actually gets and applies these ranges to
 * show what the same build would take with the flags.
 */
import type { CompressorName } from './throughput-types.js';

export interface FlagCost {
  /** Flags of the group, by /proc/cpuinfo name; the cost applies when any is missing. */
  flags: readonly string[];
  compressor: CompressorName;
  /** Fraction of throughput lost without the group, low and high estimate. */
  loss: readonly [number, number];
  why: string;
}

export const FLAG_COSTS: readonly FlagCost[] = [
  {
    flags: ['bmi2', 'bmi1', 'abm'],
    compressor: 'zstd',
    loss: [0.05, 0.15],
    why: 'zstd switches to its generic bit-coding path',
  },
  { flags: ['avx2'], compressor: 'zstd', loss: [0.0, 0.1], why: 'wider copies and match search' },
  {
    flags: ['sse4_2', 'pclmulqdq'],
    compressor: 'gzip',
    loss: [0.1, 0.3],
    why: 'zlib falls back to table CRC-32 and slower hashing',
  },
  {
    flags: ['avx2', 'ssse3'],
    compressor: 'gzip',
    loss: [0.0, 0.1],
    why: 'scalar Adler-32 and window slides',
  },
  {
    flags: ['pclmulqdq'],
    compressor: 'xz',
    loss: [0.01, 0.05],
    why: 'table CRC-64 instead of carry-less multiply',
  },
  {
    flags: ['avx2'],
    compressor: 'lz4',
    loss: [0.0, 0.05],
    why: 'lz4 is scalar; only copies use wider vectors',
  },
];

/** Emulated instructions (QEMU TCG) against hardware virtualisation: a wide estimate. */
export const EMULATION_SLOWDOWN: readonly [number, number] = [5, 20];

/** The estimated loss range for one compressor given the missing flags (losses of distinct groups add up). */
export function lossFor(
  compressor: CompressorName,
  missing: readonly string[],
): { loss: [number, number]; why: string[] } {
  const m = new Set(missing);
  let lo = 0;
  let hi = 0;
  const why: string[] = [];
  for (const c of FLAG_COSTS) {
    if (c.compressor !== compressor || !c.flags.some((f) => m.has(f))) continue;
    lo += c.loss[0];
    hi += c.loss[1];
    why.push(c.why);
  }
  return { loss: [Math.min(lo, 0.9), Math.min(hi, 0.9)], why };
}
