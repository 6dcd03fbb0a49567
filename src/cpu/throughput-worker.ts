/** Worker thread: compresses blocks of the shared sample for a fixed time and reports what it did. */
import { parentPort } from 'node:worker_threads';
import { createCompressor } from './compressors.js';
import type { CompressorSetting } from './throughput-types.js';

export interface WorkerTask {
  setting: CompressorSetting;
  sample: Uint8Array;
  blockSize: number;
  durationMs: number;
  /** Block to start at, so concurrent workers do not all compress the same blocks. */
  firstBlock: number;
}

export type WorkerReply =
  | { ok: true; engine: string; bytesIn: number; bytesOut: number; ms: number }
  | { ok: false; pending: boolean; message: string };

const MIN_BLOCKS = 6;

function runTask(t: WorkerTask): WorkerReply {
  let c: ReturnType<typeof createCompressor>;
  try {
    c = createCompressor(t.setting, t.blockSize);
  } catch (err) {
    return { ok: false, pending: false, message: (err as Error).message };
  }
  if (typeof c === 'string') return { ok: false, pending: true, message: c };
  const blocks = Math.max(1, Math.floor(t.sample.length / t.blockSize));
  // Stride through the sample so that even a handful of blocks covers text, code, tables and random data.
  const stride = blocks % 37 === 0 ? 1 : 37;
  let i = t.firstBlock % blocks;
  let bytesIn = 0;
  let bytesOut = 0;
  let n = 0;
  const start = performance.now();
  // At least MIN_BLOCKS blocks, so slow settings (zstd 19, xz) still see text, code, tables and random data.
  while (n < MIN_BLOCKS || performance.now() - start < t.durationMs) {
    const block = t.sample.subarray(i * t.blockSize, (i + 1) * t.blockSize);
    bytesOut += c.compress(block);
    bytesIn += block.length;
    n++;
    i = (i + stride) % blocks;
  }
  return { ok: true, engine: c.engine, bytesIn, bytesOut, ms: performance.now() - start };
}

parentPort?.on('message', (t: WorkerTask) => {
  parentPort?.postMessage(runTask(t));
});
