/** Measures compressor throughput on one core and on every core, in worker threads. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { makeSample } from './sample.js';
import type { CompressorSetting, Throughput } from './throughput-types.js';
import type { WorkerReply, WorkerTask } from './throughput-worker.js';

export interface MeasureOptions {
  settings: readonly CompressorSetting[];
  /** Time each worker compresses for, per setting and mode. */
  durationMs: number;
  sampleBytes?: number;
  blockSize?: number;
  /** Workers for the all-cores figure; default: the CPUs this process may use. */
  workers?: number;
  signal?: AbortSignal;
  onResult?: (t: Throughput) => void;
}

/** The compiled worker file; under vitest (TypeScript sources) the build's copy in dist/. */
function workerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./throughput-worker.js', import.meta.url);
  let dir = dirname(here);
  for (let i = 0; i < 5 && !existsSync(join(dir, 'binding.gyp')); i++) dir = dirname(dir);
  const built = join(dir, 'dist', 'src', 'cpu', 'throughput-worker.js');
  if (!existsSync(built)) throw new Error(`throughput worker not built (${built}); run \`npm run build:ts\``);
  return new URL(`file://${built}`);
}

function ask(w: Worker, task: WorkerTask): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (r: WorkerReply) => {
      w.off('error', onError);
      resolve(r);
    };
    const onError = (e: Error) => {
      w.off('message', onMessage);
      reject(e);
    };
    w.once('message', onMessage);
    w.once('error', onError);
    w.postMessage(task);
  });
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Measures each setting: one worker alone, then `workers` at once, each for `durationMs`.
 * @throws Error when a worker thread cannot start or the run is aborted.
 */
export async function measureThroughput(opts: MeasureOptions): Promise<Throughput[]> {
  const blockSize = opts.blockSize ?? 131072;
  const sample = makeSample(opts.sampleBytes ?? 16 * 1024 * 1024);
  const n = Math.max(1, opts.workers ?? availableParallelism());
  const url = workerUrl();
  const workers = Array.from({ length: n }, () => new Worker(url));
  const out: Throughput[] = [];
  try {
    for (const setting of opts.settings) {
      if (opts.signal?.aborted) throw new Error('doctor: aborted');
      const task = (k: number): WorkerTask => ({
        setting,
        sample,
        blockSize,
        durationMs: opts.durationMs,
        firstBlock: k * 17,
      });
      const [w0] = workers;
      if (!w0) throw new Error('no worker');
      const one = await ask(w0, task(0));
      let t: Throughput;
      if (!one.ok) {
        t = { ...setting, status: one.pending ? 'pending' : 'failed', note: one.message };
      } else {
        const all = await Promise.all(workers.map((w, k) => ask(w, task(k))));
        let bytesIn = 0;
        let bytesOut = one.bytesOut;
        let inForRatio = one.bytesIn;
        let ms = 0;
        for (const r of all) {
          if (!r.ok) throw new Error(`worker failed: ${r.message}`);
          bytesIn += r.bytesIn;
          bytesOut += r.bytesOut;
          inForRatio += r.bytesIn;
          ms = Math.max(ms, r.ms);
        }
        t = {
          ...setting,
          status: 'measured',
          engine: one.engine,
          singleMBps: round(one.bytesIn / 1e6 / (one.ms / 1000)),
          allMBps: round(bytesIn / 1e6 / (ms / 1000)),
          workers: n,
          ratio: round(bytesOut / inForRatio, 3),
        };
      }
      out.push(t);
      opts.onResult?.(t);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
