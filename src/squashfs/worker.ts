/**
 * Piscina worker: hands each compression task to the addon in one call, which reads the records (from files, or
 * from buffers the task carries), stores all-zero blocks as sparse and compresses the rest into the task's result
 * slab. The block cache is asked through two hooks the addon calls per block. One compressor per worker thread.
 */
import { workerData } from 'node:worker_threads';
import { blockHash, readEntry, writeEntry } from './block-cache.js';
import {
  type BlockCacheHooks,
  type CompressorConfig,
  type NativeBlockCompressor,
  type NativeBlockDecompressor,
  native,
} from './native.js';
import {
  type CacheStats,
  type CompressTask,
  displayPath,
  type HashTask,
  ITEM,
  RESULT_PREFIX,
  sealResult,
  splitPaths,
  type Task,
  taskResultBytes,
  taskShape,
  type WorkerData,
} from './protocol.js';

const { slabs } = workerData as WorkerData;

const keyOf = (cfg: CompressorConfig) => `${cfg.comp}:${cfg.level ?? ''}:${cfg.blockSize}`;

let compressor: { key: string; c: NativeBlockCompressor } | undefined;

function compressorFor(cfg: CompressorConfig): NativeBlockCompressor {
  if (compressor?.key !== keyOf(cfg))
    compressor = { key: keyOf(cfg), c: new (native().BlockCompressor)(cfg) };
  return compressor.c;
}

let decompressor: { key: string; d: NativeBlockDecompressor } | undefined;

/** The block cache's check: cached bodies are decompressed and compared with the block. */
function decompressorFor(cfg: CompressorConfig): NativeBlockDecompressor {
  if (decompressor?.key !== keyOf(cfg))
    decompressor = { key: keyOf(cfg), d: new (native().BlockDecompressor)(cfg) };
  return decompressor.d;
}

function fail(display: string, what: string, cause?: unknown): never {
  const err = new Error(`${what}: ${display}`, { cause });
  Object.assign(err, { path: display });
  throw err;
}

/** Turns a native read error into one naming the input file. */
function readError(display: string, fileSize: number, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') fail(display, 'input file vanished', err);
  if (code === 'ESHRANK') fail(display, `input file shrank while reading (expected ${fileSize} bytes)`, err);
  // libsquashfs' own errors come from the compressor, not the read.
  if ((err as { sqfsCode?: number }).sqfsCode !== undefined)
    fail(display, `cannot compress input file (${code})`, err);
  fail(display, `cannot read input file (${code})`, err);
}

/** A failure of record r: named by its file when it reads one (bytes a task carries have no file to name). */
function recordFailed(task: CompressTask, err: unknown): never {
  const r = (err as { record?: number }).record;
  const src = r === undefined ? -1 : (task.items[r * ITEM.size + ITEM.src] as number);
  if (r === undefined || src < 0) throw err;
  const display = displayPath(splitPaths(task.paths)[src] ?? '', task.rootLength);
  return readError(display, task.items[r * ITEM.size + ITEM.fileSize] as number, err);
}

/** Hooks into the block cache folder, counting what it served; every hit is verified (block-cache.ts). */
function cacheHooks(dir: string, cfg: CompressorConfig, stats: CacheStats): BlockCacheHooks {
  const d = decompressorFor(cfg);
  const decompress = (src: Uint8Array, dst: Uint8Array) => d.decompress(src, dst);
  let hash: Buffer | undefined;
  return {
    lookup(block) {
      // The addon stores right after a miss, so the hash is kept for it.
      hash = blockHash(block);
      const hit = readEntry(dir, cfg, block, hash, decompress);
      if (hit === 'bad') stats.bad++;
      if (hit === 'bad' || hit === 'miss') return undefined;
      stats.fromCache++;
      return hit.body;
    },
    store(block, body, raw) {
      if (!writeEntry(dir, cfg, block, hash ?? blockHash(block), body, raw)) stats.unwritable++;
      hash = undefined;
    },
  };
}

let tableScratch = new Uint32Array(0);

function compressTask(task: CompressTask): number {
  const { cfg } = task;
  const buf = slabs[task.slab] as SharedArrayBuffer;
  if (buf.byteLength < taskResultBytes(task.items, cfg.blockSize))
    throw new Error('internal error: task larger than its result slab');
  const { tableWords } = taskShape(task.items, cfg.blockSize);
  if (tableScratch.length < tableWords) tableScratch = new Uint32Array(tableWords);
  const stats: CacheStats = { fromCache: 0, bad: 0, unwritable: 0 };
  const hooks = task.cacheDir ? cacheHooks(task.cacheDir, cfg, stats) : undefined;
  let done: [number, number, number];
  try {
    done = compressorFor(cfg).compressTask(
      task.items,
      task.paths,
      task.buffers,
      new Uint8Array(buf, RESULT_PREFIX),
      tableScratch,
      hooks,
    );
  } catch (err) {
    return recordFailed(task, err);
  }
  const [body, words, compressed] = done;
  sealResult(buf, body, tableScratch.subarray(0, words), compressed, stats);
  return task.slab;
}

function hashTask(task: HashTask): string[] {
  const digests = new Uint8Array(32 * task.sizes.length);
  try {
    native().hashFiles(task.paths, task.sizes, digests);
  } catch (err) {
    const i = (err as { index?: number }).index ?? 0;
    const path = splitPaths(task.paths)[i] ?? '';
    return readError(displayPath(path, task.rootLength), task.sizes[i] as number, err);
  }
  const hex = Buffer.from(digests.buffer).toString('hex');
  return Array.from(task.sizes, (_, i) => hex.slice(64 * i, 64 * i + 64));
}

export default function run(task: Task): unknown {
  if (task.op === 'hash') return hashTask(task);
  return compressTask(task);
}
