/**
 * Messages between the main thread and the compression workers. Results travel as one transferred ArrayBuffer:
 * a JSON header followed by the compressed bytes, so nothing large is copied.
 */
import type { CompressorConfig } from './native.js';

/** A range of one file, read by the worker (directory source) or carried in `data` (tar source). */
export interface WorkItem {
  /** File to read, as raw path bytes (names need not be UTF-8). */
  path?: Uint8Array;
  /** Display path for errors. */
  display: string;
  offset: number;
  length: number;
  /** Offset of this item's bytes inside the task's `data` buffer (tar source). */
  dataOffset?: number;
  /** Last range of the file: the part after the last full block is returned raw as the tail. */
  last: boolean;
  /** Expected file size; a shorter file is an error. */
  fileSize: number;
  /** The whole item is one block to compress as is (a fragment block). */
  whole?: boolean;
}

export interface CompressTask {
  op: 'compress';
  cfg: CompressorConfig;
  cacheDir?: string;
  items: WorkItem[];
  data?: Uint8Array;
}

export interface HashTask {
  op: 'hash';
  items: { path: Uint8Array; display: string; size: number }[];
}

export type Task = CompressTask | HashTask;

export interface ItemResult {
  /** Size word per full block: compressed length, bit 24 when stored raw, 0 for a sparse block. */
  words: number[];
  /** Bytes this item contributed to `out`. */
  bytes: number;
  /** Raw bytes after the last full block (last item of a file only), as base64-free byte offsets in `tails`. */
  tailLength: number;
}

export interface CompressResultHeader {
  items: ItemResult[];
  compressed: number;
  fromCache: number;
  /** Total length of the compressed bytes, followed by the concatenated tails. */
  outLength: number;
}

export const RAW_BIT = 1 << 24;

/** Packs a header and byte chunks into one buffer: [u32 json length][json][pad to 8][chunks...]. */
export function packResult(header: unknown, chunks: Uint8Array[]): ArrayBuffer {
  const json = Buffer.from(JSON.stringify(header));
  const start = (4 + json.length + 7) & ~7;
  let total = start;
  for (const c of chunks) total += c.length;
  const buf = new ArrayBuffer(total);
  const u8 = new Uint8Array(buf);
  new DataView(buf).setUint32(0, json.length, true);
  u8.set(json, 4);
  let at = start;
  for (const c of chunks) {
    u8.set(c, at);
    at += c.length;
  }
  return buf;
}

export function unpackResult<H>(buf: ArrayBuffer): { header: H; body: Uint8Array } {
  const len = new DataView(buf).getUint32(0, true);
  const header = JSON.parse(Buffer.from(buf, 4, len).toString()) as H;
  const start = (4 + len + 7) & ~7;
  return { header, body: new Uint8Array(buf, start) };
}
