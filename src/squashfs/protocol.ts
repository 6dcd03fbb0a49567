/**
 * Messages between the main thread and the compression workers. A task is a list of items in image order; its
 * result travels back as one transferred ArrayBuffer (compressed bytes, then a table of block size words), so
 * nothing large is copied or serialised.
 */
import type { CompressorConfig } from './native.js';

/** Where an item's bytes are: a file range the worker reads, or a range of one of the task's buffers. */
export type ByteSource =
  | {
      /** File to read: its raw path bytes as a latin1 string (names need not be UTF-8; a string clones cheaply). */
      path: string;
      /** Display path for errors. */
      display: string;
      offset: number;
      /** Expected file size; a shorter file is an error. */
      fileSize: number;
      length: number;
    }
  | { buffer: number; offset: number; length: number };

/** Full data blocks of one file (length is a whole number of blocks); all-zero blocks become sparse. */
export interface BlocksItem {
  kind: 'blocks';
  src: ByteSource;
}

/** One fragment block: file tails packed in order, compressed as one block. */
export interface FragmentItem {
  kind: 'fragment';
  parts: ByteSource[];
}

export type WorkItem = BlocksItem | FragmentItem;

export interface CompressTask {
  op: 'compress';
  cfg: CompressorConfig;
  cacheDir?: string;
  items: WorkItem[];
  buffers: Uint8Array[];
  /** A consumed result's buffer, handed back for the worker to write this result into. */
  spare?: ArrayBuffer;
  /** Least size of a new result buffer: enough for the largest task, so every buffer can come back as a spare. */
  capacity: number;
}

export interface HashTask {
  op: 'hash';
  items: { path: string; display: string; size: number }[];
}

export type Task = CompressTask | HashTask;

export const RAW_BIT = 1 << 24;

/** u32 words before the body: body length, table length (in words), blocks compressed, blocks from cache. */
const PREFIX_WORDS = 4;
export const RESULT_PREFIX = PREFIX_WORDS * 4;

/** Room a result needs for `inputBytes` of input in `blocks` blocks and `items` items (raw is the worst case). */
export function resultCapacity(inputBytes: number, blocks: number, items: number): number {
  const body = (inputBytes + 3) & ~3;
  return RESULT_PREFIX + body + 4 * (items * 2 + blocks);
}

export interface TaskResult {
  /** Compressed bytes of all items, in item order. */
  body: Uint8Array;
  /** Per item: its size words (compressed length | RAW_BIT when stored raw, 0 when sparse) and byte count. */
  items: { words: Uint32Array; bytes: number }[];
  compressed: number;
  fromCache: number;
}

/**
 * Layout: [prefix][body, padded to 4][table: per item (bytes, word count, words…)]. The worker compresses straight
 * into the body, so the buffer is sized for the worst case up front and moved, never copied.
 */
export function sealResult(
  buf: ArrayBuffer,
  bodyLength: number,
  table: number[],
  compressed: number,
  fromCache: number,
): ArrayBuffer {
  const at = RESULT_PREFIX + ((bodyLength + 3) & ~3);
  new Uint32Array(buf, at, table.length).set(table);
  new Uint32Array(buf, 0, PREFIX_WORDS).set([bodyLength, table.length, compressed, fromCache]);
  return buf;
}

export function unpackResult(buf: ArrayBuffer): TaskResult {
  const [bodyLength = 0, tableLength = 0, compressed = 0, fromCache = 0] = new Uint32Array(
    buf,
    0,
    PREFIX_WORDS,
  );
  const table = new Uint32Array(buf, RESULT_PREFIX + ((bodyLength + 3) & ~3), tableLength);
  const items: TaskResult['items'] = [];
  for (let i = 0; i < table.length; ) {
    const bytes = table[i] as number;
    const n = table[i + 1] as number;
    items.push({ bytes, words: table.subarray(i + 2, i + 2 + n) });
    i += 2 + n;
  }
  return { body: new Uint8Array(buf, RESULT_PREFIX, bodyLength), items, compressed, fromCache };
}
