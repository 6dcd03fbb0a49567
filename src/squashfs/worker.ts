/**
 * Piscina worker: cuts a task's bytes into blocks, stores all-zero blocks as sparse and compresses the rest
 * synchronously, into the task's result slab. A task whose records all read files (directory source) goes to the
 * addon in one call; bytes carried in the task (tar source), the block cache and zstd take the path below.
 * One compressor per worker thread.
 */
import { createRequire } from 'node:module';
import { workerData } from 'node:worker_threads';
import { blockHash, readEntry, writeEntry } from './block-cache.js';
import {
  type CompressorConfig,
  type NativeBlockCompressor,
  type NativeBlockDecompressor,
  native,
} from './native.js';
import {
  type CompressTask,
  displayPath,
  FRAGMENT,
  type HashTask,
  ITEM,
  RAW_BIT,
  RESULT_PREFIX,
  sealResult,
  splitPaths,
  type Task,
  taskResultBytes,
  taskShape,
  type WorkerData,
} from './protocol.js';

const { slabs } = workerData as WorkerData;
// Loaded only when used (the block cache): every worker pays for its imports at start-up.
const require = createRequire(import.meta.url);

/** Compresses `block` into `dst` (same length as the block); returns the length, or 0 when it does not shrink. */
type CompressFn = (block: Uint8Array, dst: Uint8Array) => number;

interface Compressor {
  fn: CompressFn;
  /** The addon's compressors also take a file range and read it through a mapping (no copy). */
  native?: NativeBlockCompressor;
}

let current: (Compressor & { key: string }) | undefined;

function compressorFor(cfg: CompressorConfig): Compressor {
  const key = `${cfg.comp}:${cfg.level ?? ''}:${cfg.blockSize}`;
  if (current?.key === key) return current;
  let fn: CompressFn;
  let nativeCompressor: NativeBlockCompressor | undefined;
  if (cfg.comp === 'zstd') {
    const { Compressor } = require('zstd-napi') as typeof import('zstd-napi');
    const z = new Compressor();
    z.setParameters({ compressionLevel: cfg.level ?? 15 });
    fn = (block, dst) => {
      const out = z.compress(block);
      if (out.length >= block.length) return 0;
      dst.set(out);
      return out.length;
    };
  } else {
    const c = new (native().BlockCompressor)(cfg);
    fn = (block, dst) => c.compress(block, dst);
    nativeCompressor = c;
  }
  current = { key, fn, ...(nativeCompressor ? { native: nativeCompressor } : {}) };
  return current;
}

let decompressor: { key: string; d: NativeBlockDecompressor } | undefined;

/** The block cache's check: cached bodies are decompressed and compared with the block. */
function decompressorFor(cfg: CompressorConfig): NativeBlockDecompressor {
  const key = `${cfg.comp}:${cfg.level ?? ''}:${cfg.blockSize}`;
  if (decompressor?.key !== key) decompressor = { key, d: new (native().BlockDecompressor)(cfg) };
  return decompressor.d;
}

function isZero(b: Uint8Array): boolean {
  let i = 0;
  const head = Math.min(b.length, (4 - (b.byteOffset & 3)) & 3);
  for (; i < head; i++) if (b[i] !== 0) return false;
  const words = new Uint32Array(b.buffer, b.byteOffset + i, (b.length - i) >>> 2);
  for (let k = 0; k < words.length; k++) if (words[k] !== 0) return false;
  for (i += words.length * 4; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
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
// Input bytes read from files land here; reused across tasks (8-byte aligned for the all-zero check).
let scratch = new Uint8Array(0);

function scratchOf(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(new ArrayBuffer((n + 7) & ~7));
  return scratch.subarray(0, n);
}

/** A task's records with their paths decoded, and how to name a file in a message. */
class Records {
  private split: string[] | undefined;
  constructor(readonly task: CompressTask) {}

  /** Decoded on first use: a task the addon does whole needs its paths only to name a failure. */
  get paths(): string[] {
    this.split ??= splitPaths(this.task.paths);
    return this.split;
  }

  num(r: number, field: number): number {
    return this.task.items[r * ITEM.size + field] as number;
  }

  path(src: number): string {
    return this.paths[src] as string;
  }

  /** Fails naming the record's file in the image. */
  readFailed(r: number, err: unknown): never {
    const display = displayPath(this.path(this.num(r, ITEM.src)), this.task.rootLength);
    readError(display, this.num(r, ITEM.fileSize), err);
  }

  /** The bytes of record r: a view of a task buffer, or read from its file into `dst`. */
  bytes(r: number, dst: Uint8Array): Uint8Array {
    const src = this.num(r, ITEM.src);
    const offset = this.num(r, ITEM.offset);
    const length = this.num(r, ITEM.length);
    if (src < 0) return (this.task.buffers[-1 - src] as Uint8Array).subarray(offset, offset + length);
    const bytes = dst.subarray(0, length);
    try {
      native().readRange(this.path(src), offset, bytes);
    } catch (err) {
      this.readFailed(r, err);
    }
    return bytes;
  }
}

const NO_CACHE = { fromCache: 0, bad: 0, unwritable: 0 };

let tableScratch = new Uint32Array(0);

function tableOf(words: number): Uint32Array {
  if (tableScratch.length < words) tableScratch = new Uint32Array(words);
  return tableScratch;
}

function compressTask(task: CompressTask): number {
  const { cfg } = task;
  const bs = cfg.blockSize;
  const { fn: compress, native: whole } = compressorFor(task.cfg);
  const rec = new Records(task);
  const count = task.items.length / ITEM.size;
  const buf = slabs[task.slab] as SharedArrayBuffer;
  if (buf.byteLength < taskResultBytes(task.items, bs))
    throw new Error('internal error: task larger than its result slab');
  if (whole && !task.cacheDir && task.buffers.length === 0) {
    // Every record reads a file: the addon does the whole task in one call.
    const table = tableOf(taskShape(task.items, bs).tableWords);
    let done: [number, number, number];
    try {
      done = whole.compressTask(task.items, task.paths, new Uint8Array(buf, RESULT_PREFIX), table);
    } catch (err) {
      const r = (err as { record?: number }).record;
      if (r === undefined) throw err;
      return rec.readFailed(r, err);
    }
    const [body, words, compressed] = done;
    sealResult(buf, body, table.subarray(0, words), compressed, NO_CACHE);
    return task.slab;
  }
  const out = new Uint8Array(buf);
  let at = RESULT_PREFIX;
  const table: number[] = [];
  let compressed = 0;
  const cacheStats = { fromCache: 0, bad: 0, unwritable: 0 };

  const block = (data: Uint8Array, sparseOk: boolean): number => {
    if (sparseOk && isZero(data)) return 0;
    let hash: Buffer | undefined;
    if (task.cacheDir) {
      hash = blockHash(data);
      const d = decompressorFor(cfg);
      const hit = readEntry(task.cacheDir, cfg, data, hash, (src, dst) => d.decompress(src, dst));
      if (hit === 'bad') cacheStats.bad++;
      else if (hit !== 'miss') {
        cacheStats.fromCache++;
        out.set(hit.body, at);
        at += hit.body.length;
        return hit.raw ? (hit.body.length | RAW_BIT) >>> 0 : hit.body.length;
      }
    }
    compressed++;
    const dst = out.subarray(at, at + data.length);
    let n = compress(data, dst);
    const raw = n === 0;
    if (raw) {
      dst.set(data);
      n = data.length;
    }
    if (task.cacheDir && hash && !writeEntry(task.cacheDir, cfg, data, hash, dst.subarray(0, n), raw))
      cacheStats.unwritable++;
    at += n;
    return raw ? (n | RAW_BIT) >>> 0 : n;
  };

  for (let r = 0; r < count; r++) {
    const before = at;
    const words: number[] = [];
    if (rec.num(r, ITEM.kind) === FRAGMENT) {
      // Tails are assembled in the scratch buffer, then compressed as one block.
      const frag = scratchOf(bs);
      let used = 0;
      for (let last = r + rec.num(r, ITEM.src); r < last; ) {
        r++;
        const bytes = rec.bytes(r, frag.subarray(used));
        if (rec.num(r, ITEM.src) < 0) frag.set(bytes, used);
        used += bytes.length;
      }
      words.push(block(frag.subarray(0, used), false));
    } else {
      const bytes = rec.bytes(r, scratchOf(rec.num(r, ITEM.length)));
      for (let i = 0; i < bytes.length; i += bs) words.push(block(bytes.subarray(i, i + bs), true));
    }
    table.push(at - before, words.length, ...words);
  }
  sealResult(buf, at - RESULT_PREFIX, table, compressed, cacheStats);
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
