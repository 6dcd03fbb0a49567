/** Compressor throughput figures the doctor measures. */

export type CompressorName = 'zstd' | 'gzip' | 'xz' | 'lz4';

/** One compressor setting to measure. */
export interface CompressorSetting {
  compressor: CompressorName;
  /** Level; for lz4, 0 is the fast mode and 9 the high-compression (HC) mode. */
  level: number;
}

export interface Throughput extends CompressorSetting {
  /** `measured`, or `pending` when no implementation of this compressor is available to the doctor yet. */
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
