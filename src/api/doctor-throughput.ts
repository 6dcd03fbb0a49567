/**
 * The doctor's compressor figures: each setting timed through the squashfs writer's own pool and compressors
 * (src/squashfs/throughput.ts) on a sample shaped like a rootfs (src/cpu/sample.ts).
 */
import { BLOCK_SIZE } from '../compressors.js';
import { makeSample } from '../cpu/sample.js';
import type { CompressorSetting, Throughput } from '../cpu/suggest.js';
import { native } from '../squashfs/native.js';
import { timeCompression } from '../squashfs/throughput.js';

export interface MeasureOptions {
  settings: readonly CompressorSetting[];
  /** Time each figure compresses for, per setting. */
  durationMs: number;
  sampleBytes?: number;
  /** Workers for the all-workers figure; default: the CPUs this process may use. */
  workers?: number;
  signal?: AbortSignal;
  onResult?: (t: Throughput) => void;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const mbps = (bytes: number, ms: number) => round(bytes / 1e6 / (ms / 1000));

/** One setting's figures, or why there are none. */
async function measureOne(s: CompressorSetting, sample: Uint8Array, o: MeasureOptions): Promise<Throughput> {
  try {
    native();
  } catch (err) {
    return { ...s, status: 'pending', note: `the native addon cannot be loaded: ${(err as Error).message}` };
  }
  const cfg = {
    comp: s.compressor,
    blockSize: BLOCK_SIZE.default,
    ...(s.compressor === 'lz4' ? {} : { level: s.level }),
  };
  try {
    const { one, all, workers } = await timeCompression(cfg, sample, {
      durationMs: o.durationMs,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return {
      ...s,
      status: 'measured',
      engine: 'libsquashfs',
      singleMBps: mbps(one.bytesIn, one.ms),
      allMBps: mbps(all.bytesIn, all.ms),
      workers,
      ratio: round((one.bytesOut + all.bytesOut) / (one.bytesIn + all.bytesIn), 3),
    };
  } catch (err) {
    if (o.signal?.aborted) throw err;
    return { ...s, status: 'failed', note: (err as Error).message };
  }
}

/**
 * Measures each setting: one worker alone, then every worker at once, each for `durationMs`.
 * @throws the abort reason when `signal` fires.
 */
export async function measureThroughput(o: MeasureOptions): Promise<Throughput[]> {
  const sample = makeSample(o.sampleBytes ?? 16 * 1024 * 1024);
  const out: Throughput[] = [];
  for (const s of o.settings) {
    const t = await measureOne(s, sample, o);
    out.push(t);
    o.onResult?.(t);
  }
  return out;
}
