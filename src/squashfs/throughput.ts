/**
 * Times the writer's own block compression (for `doctor`): the writer's worker pool and the addon's compressTask,
 * fed blocks carried in a buffer as the tar source carries them. No image is written.
 */
import { availableParallelism } from 'node:os';
import type { CompressorConfig } from './native.js';
import { resultBytes } from './pipeline-sizing.js';
import { BLOCKS, type CompressTask, ITEM, unpackResult } from './protocol.js';
import { ResultSlabs } from './result-slabs.js';
import { startPool, taskBytesFor } from './write.js';

export interface CompressionTiming {
  bytesIn: number;
  /** Compressed bytes, incompressible blocks counted raw as the image stores them. */
  bytesOut: number;
  ms: number;
}

export interface TimingOptions {
  /** Workers for the all-workers figure; default: the CPUs this process may use. */
  workers?: number;
  /** Time each figure compresses for (at least one task whatever it is). */
  durationMs: number;
  signal?: AbortSignal;
}

/** Blocks between a task's consecutive blocks, so each task covers every kind of data in the sample. */
const STRIDE = 37;

/**
 * Compresses blocks of `sample` with `cfg`, first one task at a time (one worker), then with every worker busy.
 * `sample` should sit in a SharedArrayBuffer, so tasks carry it without a copy.
 * @throws Error when the addon cannot be loaded or refuses the settings, or the abort reason.
 */
export async function timeCompression(
  cfg: CompressorConfig,
  sample: Uint8Array,
  o: TimingOptions,
): Promise<{ one: CompressionTiming; all: CompressionTiming; workers: number }> {
  const workers = Math.max(1, o.workers ?? availableParallelism());
  const taskBytes = taskBytesFor(cfg.comp);
  const slabs = new ResultSlabs(2 * workers + 1, resultBytes(taskBytes, cfg.blockSize));
  const pool = startPool(workers, slabs);
  const blocks = Math.max(1, Math.floor(sample.length / cfg.blockSize));
  const perTask = Math.max(1, Math.min(blocks, Math.floor(taskBytes / cfg.blockSize)));
  let next = 0;
  const task = (slab: number): CompressTask => {
    const items = new Float64Array(perTask * ITEM.size);
    for (let i = 0; i < perTask; i++, next = (next + STRIDE) % blocks)
      items.set([BLOCKS, -1, next * cfg.blockSize, cfg.blockSize, cfg.blockSize], i * ITEM.size);
    return { op: 'compress', cfg, paths: '', rootLength: 0, items, buffers: [sample], slab };
  };
  const run = async (inFlight: number): Promise<CompressionTiming> => {
    const t: CompressionTiming = { bytesIn: 0, bytesOut: 0, ms: 0 };
    const start = performance.now();
    const lane = async (first: boolean) => {
      while (first || performance.now() - start < o.durationMs) {
        first = false;
        o.signal?.throwIfAborted();
        const slab = slabs.take();
        try {
          await pool.run(task(slab));
          t.bytesOut += unpackResult(slabs.buffers[slab] as SharedArrayBuffer).body.length;
          t.bytesIn += perTask * cfg.blockSize;
        } finally {
          slabs.release(slab);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, () => lane(true)));
    t.ms = performance.now() - start;
    return t;
  };
  try {
    // Every worker loads the addon and makes its compressor before the clock starts.
    const warm = Array.from({ length: workers }, () => slabs.take());
    await Promise.all(warm.map((slab) => pool.run(task(slab))));
    for (const slab of warm) slabs.release(slab);
    return { one: await run(1), all: await run(workers), workers };
  } finally {
    await pool.destroy();
  }
}
