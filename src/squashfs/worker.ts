/**
 * Piscina worker: reads file ranges by path (directory source) or takes bytes (tar source), cuts them into blocks,
 * stores all-zero blocks as sparse and compresses the rest synchronously. One compressor per worker thread.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { move } from 'piscina';
import { Compressor as ZstdCompressor } from 'zstd-napi';
import { type CompressorConfig, native } from './native.js';
import {
  type CompressResultHeader,
  type CompressTask,
  type HashTask,
  type ItemResult,
  packResult,
  RAW_BIT,
  type Task,
} from './protocol.js';

type CompressFn = (block: Uint8Array) => Uint8Array | null;

let current: { key: string; fn: CompressFn } | undefined;

function compressorFor(cfg: CompressorConfig): CompressFn {
  const key = `${cfg.comp}:${cfg.level ?? ''}:${cfg.blockSize}`;
  if (current?.key === key) return current.fn;
  let fn: CompressFn;
  if (cfg.comp === 'zstd') {
    const z = new ZstdCompressor();
    z.setParameters({ compressionLevel: cfg.level ?? 15 });
    fn = (block) => {
      const out = z.compress(block);
      return out.length < block.length ? out : null;
    };
  } else {
    const c = new (native().BlockCompressor)(cfg);
    const scratch = new Uint8Array(cfg.blockSize + 4096);
    fn = (block) => {
      const n = c.compress(block, scratch);
      return n > 0 ? scratch.slice(0, n) : null;
    };
  }
  current = { key, fn };
  return fn;
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

function readRange(
  path: Uint8Array,
  display: string,
  offset: number,
  length: number,
  fileSize: number,
): Uint8Array {
  let fd: number;
  try {
    fd = openSync(Buffer.from(path), 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(display, code === 'ENOENT' ? 'input file vanished' : `cannot read input file (${code})`, err);
  }
  try {
    // 8-byte aligned buffer so the all-zero check can read 64-bit words.
    const buf = new Uint8Array(new ArrayBuffer((length + 7) & ~7), 0, length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) fail(display, `input file shrank while reading (expected ${fileSize} bytes)`);
      done += n;
    }
    return buf;
  } catch (err) {
    if ((err as { path?: string }).path === display) throw err;
    fail(display, `cannot read input file (${(err as NodeJS.ErrnoException).code})`, err);
  } finally {
    closeSync(fd);
  }
}

function cachePath(dir: string, key: string): string {
  return join(dir, key.slice(0, 2), key);
}

function compressTask(task: CompressTask): ArrayBuffer {
  const { cfg } = task;
  const compress = compressorFor(task.cfg);
  const settingsKey = `${cfg.comp}-${cfg.level ?? 'd'}`;
  const chunks: Uint8Array[] = [];
  const tails: Uint8Array[] = [];
  const items: ItemResult[] = [];
  let compressed = 0;
  let fromCache = 0;
  let outLength = 0;

  const block = (data: Uint8Array, sparseOk = true): number => {
    if (sparseOk && isZero(data)) return 0;
    let key: string | undefined;
    if (task.cacheDir) {
      key = createHash('sha256').update(settingsKey).update(data).digest('hex');
      try {
        const hit = readFileSync(cachePath(task.cacheDir, key));
        fromCache++;
        const raw = hit[0] === 1;
        const body = hit.subarray(1);
        chunks.push(body);
        outLength += body.length;
        return raw ? body.length | RAW_BIT : body.length;
      } catch {
        // not cached yet
      }
    }
    compressed++;
    const out = compress(data);
    const body = out ?? data;
    chunks.push(body);
    outLength += body.length;
    if (task.cacheDir && key) {
      const file = cachePath(task.cacheDir, key);
      mkdirSync(join(task.cacheDir, key.slice(0, 2)), { recursive: true });
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      writeFileSync(tmp, Buffer.concat([Uint8Array.of(out ? 0 : 1), body]));
      renameSync(tmp, file);
    }
    return out ? body.length : body.length | RAW_BIT;
  };

  for (const item of task.items) {
    const bytes =
      item.path !== undefined
        ? readRange(item.path, item.display, item.offset, item.length, item.fileSize)
        : (task.data as Uint8Array).subarray(item.dataOffset ?? 0, (item.dataOffset ?? 0) + item.length);
    const before = outLength;
    const words: number[] = [];
    if (item.whole) {
      words.push(block(bytes, false));
      items.push({ words, bytes: outLength - before, tailLength: 0 });
      continue;
    }
    const full = item.last
      ? Math.floor(bytes.length / cfg.blockSize)
      : Math.ceil(bytes.length / cfg.blockSize);
    for (let i = 0; i < full; i++)
      words.push(block(bytes.subarray(i * cfg.blockSize, (i + 1) * cfg.blockSize)));
    const tail = bytes.subarray(full * cfg.blockSize);
    if (item.last && tail.length > 0) tails.push(tail);
    items.push({ words, bytes: outLength - before, tailLength: item.last ? tail.length : 0 });
  }
  const header: CompressResultHeader = { items, compressed, fromCache, outLength };
  return packResult(header, [...chunks, ...tails]);
}

function hashTask(task: HashTask): string[] {
  return task.items.map((it) => {
    const h = createHash('sha256');
    let fd: number;
    try {
      fd = openSync(Buffer.from(it.path), 'r');
    } catch (err) {
      fail(it.display, `cannot read input file (${(err as NodeJS.ErrnoException).code})`, err);
    }
    try {
      const buf = Buffer.allocUnsafe(Math.min(it.size, 1 << 20));
      let done = 0;
      while (done < it.size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, it.size - done), done);
        if (n === 0) fail(it.display, `input file shrank while reading (expected ${it.size} bytes)`);
        h.update(buf.subarray(0, n));
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return h.digest('hex');
  });
}

export default function run(task: Task): unknown {
  if (task.op === 'hash') return hashTask(task);
  return move(compressTask(task));
}
