/**
 * Messages between the main thread and the compression workers. Results travel as one transferred ArrayBuffer:
 * a JSON header followed by the compressed bytes, so nothing large is copied.
 */
import type { CompressorConfig } from './native.js';

/** A range of one file, read by the worker (directory source) or carried in `data` (tar source). */
export interface WorkItem {
  /** File to read: its raw path bytes as a latin1 string (names need not be UTF-8; a string clones cheaply). */
  path?: string;
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
  items: { path: string; display: string; size: number }[];
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

/** Bytes reserved at the start of a result buffer: u32 body length, u32 header length. */
export const RESULT_PREFIX = 16;

/**
 * Result layout: [prefix][body bytes][json header]. The worker compresses straight into the body, so the buffer
 * is sized for the worst case up front and moved, never copied.
 */
export function sealResult(buf: ArrayBuffer, bodyLength: number, header: unknown): ArrayBuffer {
  const json = Buffer.from(JSON.stringify(header));
  let out = buf;
  if (RESULT_PREFIX + bodyLength + json.length > buf.byteLength) {
    out = new ArrayBuffer(RESULT_PREFIX + bodyLength + json.length);
    new Uint8Array(out).set(new Uint8Array(buf, 0, RESULT_PREFIX + bodyLength));
  }
  new Uint8Array(out).set(json, RESULT_PREFIX + bodyLength);
  const dv = new DataView(out);
  dv.setUint32(0, bodyLength, true);
  dv.setUint32(4, json.length, true);
  return out;
}

export function unpackResult<H>(buf: ArrayBuffer): { header: H; body: Uint8Array } {
  const dv = new DataView(buf);
  const bodyLength = dv.getUint32(0, true);
  const len = dv.getUint32(4, true);
  const header = JSON.parse(Buffer.from(buf, RESULT_PREFIX + bodyLength, len).toString()) as H;
  return { header, body: new Uint8Array(buf, RESULT_PREFIX, bodyLength) };
}
