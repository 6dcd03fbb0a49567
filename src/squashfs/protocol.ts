/**
 * Messages between the main thread and the compression workers. A task is a list of items in image order; its
 * result (compressed bytes, then a table of block size words) is written into a slab of memory shared with the
 * main thread, so nothing large is copied, serialised or moved.
 */
import type { CompressorConfig } from './native.js';

/**
 * A task's items as numbers, `ITEM.size` per record: a BLOCKS record (full blocks of one file; all-zero blocks
 * become sparse), or a FRAGMENT record followed by `ITEM.src` PART records (file tails packed in order,
 * compressed as one block). Records name their bytes by `src`: a path's index in the task's `paths`, or
 * `-1 - i` for the task's buffer i. Numbers and one string clone in a few copies where objects would be
 * serialised field by field (tens of thousands per build).
 */
export const ITEM = { kind: 0, src: 1, offset: 2, length: 3, fileSize: 4, size: 5 } as const;
export const BLOCKS = 0;
export const FRAGMENT = 1;
export const PART = 2;

/** Paths travel as one string: raw path bytes as latin1 (names need not be UTF-8), each ended by a NUL. */
export function joinPaths(paths: readonly string[]): string {
  return paths.length ? `${paths.join('\0')}\0` : '';
}

export function splitPaths(joined: string): string[] {
  return joined ? joined.slice(0, -1).split('\0') : [];
}

/** The path inside the image of a file read from the source directory, for messages. */
export function displayPath(diskPath: string, rootLength: number): string {
  const shown = Buffer.from(diskPath, 'latin1').subarray(rootLength).toString();
  return shown.startsWith('/') ? shown : `/${shown}`;
}

export interface CompressTask {
  op: 'compress';
  cfg: CompressorConfig;
  cacheDir?: string;
  /** Files the records read ({@link joinPaths}). */
  paths: string;
  /** Bytes of the source directory's path: what follows it in a file's path is its path in the image. */
  rootLength: number;
  items: Float64Array;
  buffers: Uint8Array[];
  /** Index of the result slab ({@link WorkerData}) to write the result into. */
  slab: number;
}

/** What every worker gets at start-up. */
export interface WorkerData {
  /** Result slabs, each large enough for any task's result. */
  slabs: SharedArrayBuffer[];
}

/** Whole-file SHA-256 of each path (first `sizes[i]` bytes), to find identical files. */
export interface HashTask {
  op: 'hash';
  paths: string;
  sizes: Float64Array;
  rootLength: number;
}

export type Task = CompressTask | HashTask;

export const RAW_BIT = 1 << 24;

/** u32 words before the body: body length, table length (in words), blocks compressed, blocks from cache. */
const PREFIX_WORDS = 6;
export const RESULT_PREFIX = PREFIX_WORDS * 4;

/** Room a result needs for `inputBytes` of input in `blocks` blocks and `items` items (raw is the worst case). */
export function resultCapacity(inputBytes: number, blocks: number, items: number): number {
  const body = (inputBytes + 3) & ~3;
  return RESULT_PREFIX + body + 4 * (items * 2 + blocks);
}

/** What a task's result holds at most: input bytes, blocks and records, and so words of its table. */
export function taskShape(
  items: Float64Array,
  blockSize: number,
): { input: number; blocks: number; records: number; tableWords: number } {
  let input = 0;
  let blocks = 0;
  let records = 0;
  for (let r = 0; r < items.length; r += ITEM.size) {
    if (items[r + ITEM.kind] === PART) continue;
    // A fragment record's length is the bytes of its tails: one block, stored in no more room than that.
    const len = items[r + ITEM.length] as number;
    input += len;
    blocks += items[r + ITEM.kind] === FRAGMENT ? 1 : Math.ceil(len / blockSize);
    records++;
  }
  return { input, blocks, records, tableWords: 2 * records + blocks };
}

/** Room the result of a task with these records needs: every block stored raw, the worst case. */
export function taskResultBytes(items: Float64Array, blockSize: number): number {
  const { input, blocks, records } = taskShape(items, blockSize);
  return resultCapacity(input, blocks, records);
}

export interface TaskResult {
  /** Compressed bytes of all items, in item order. */
  body: Uint8Array;
  /**
   * Per item, in item order: its byte count in the body, its word count n, then n size words (compressed length,
   * | RAW_BIT when stored raw, 0 when sparse). Read in place: tens of thousands of items need no objects.
   */
  table: Uint32Array;
  compressed: number;
  cache: CacheStats;
}

/** What a task's blocks found in the block cache. */
export interface CacheStats {
  /** Blocks taken from a verified entry. */
  fromCache: number;
  /** Entries found but not valid for their block (recompressed and rewritten). */
  bad: number;
  /** Entries that could not be written (read-only or full cache). */
  unwritable: number;
}

/**
 * Layout: [prefix][body, padded to 4][table: per item (bytes, word count, words…)]. The worker compresses straight
 * into the body, so the slab is sized for the worst case up front.
 */
export function sealResult(
  buf: ArrayBufferLike,
  bodyLength: number,
  table: ArrayLike<number>,
  compressed: number,
  cache: CacheStats,
): void {
  const at = RESULT_PREFIX + ((bodyLength + 3) & ~3);
  new Uint32Array(buf, at, table.length).set(table);
  new Uint32Array(buf, 0, PREFIX_WORDS).set([
    bodyLength,
    table.length,
    compressed,
    cache.fromCache,
    cache.bad,
    cache.unwritable,
  ]);
}

export function unpackResult(buf: ArrayBufferLike): TaskResult {
  const [bodyLength = 0, tableLength = 0, compressed = 0, fromCache = 0, bad = 0, unwritable = 0] =
    new Uint32Array(buf, 0, PREFIX_WORDS);
  const table = new Uint32Array(buf, RESULT_PREFIX + ((bodyLength + 3) & ~3), tableLength);
  return {
    body: new Uint8Array(buf, RESULT_PREFIX, bodyLength),
    table,
    compressed,
    cache: { fromCache, bad, unwritable },
  };
}
