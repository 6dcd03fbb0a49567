/**
 * The block cache (`--cache DIR`): one file per compressed block, named by the SHA-256 of the block's
 * uncompressed bytes and the compressor settings. The folder may be shared, copied or damaged, so an entry is
 * data to check, never trusted: every hit is decompressed and compared with the block it stands for, and a bad
 * entry is a miss that gets rewritten. Entries live directly in DIR (no fan-out folders an entry could replace with a symlink),
 * are opened without following symlinks or blocking on FIFOs, and are written as an O_EXCL temp file renamed
 * over the entry, so nothing planted in DIR can make a run read or write outside it.
 *
 * Entry layout (little-endian): magic "AIBC", version, compressor id, flags (bit 0: stored raw), 0, level
 * (0xffffffff: the compressor's default), block size, uncompressed length, body length, SHA-256 of the
 * uncompressed bytes; then the body. The name already covers the settings and the uncompressed hash; the header
 * repeats them so an entry renamed or copied over another, or cut short, is caught before any decompression. No
 * hash of the body: only its decompressed bytes prove that an entry holds this block (a body hash would not stop
 * a well-formed entry written by someone else), and comparing them catches every change to the body as well.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { COMPRESSORS } from '../compressors.js';
import { leasedName } from '../lease.js';
import type { CompressorConfig } from './native.js';

const MAGIC = 0x43424941; // "AIBC" read as a little-endian u32
const VERSION = 1;
export const HEADER_BYTES = 24 + 32;
const DEFAULT_LEVEL = 0xffff_ffff;

/** A block's cache key: the SHA-256 of its bytes (hex is the entry name's first part). */
export function blockHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The entry's file name: the block hash and every setting the compressed bytes depend on. */
export function entryName(cfg: CompressorConfig, hash: Buffer): string {
  return `${hash.toString('hex')}.${cfg.comp}-${cfg.level ?? 'd'}-${cfg.blockSize}`;
}

function header(
  cfg: CompressorConfig,
  length: number,
  hash: Buffer,
  bodyLength: number,
  raw: boolean,
): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt32LE(MAGIC, 0);
  h[4] = VERSION;
  h[5] = COMPRESSORS[cfg.comp].id;
  h[6] = raw ? 1 : 0;
  h.writeUInt32LE(cfg.level ?? DEFAULT_LEVEL, 8);
  h.writeUInt32LE(cfg.blockSize, 12);
  h.writeUInt32LE(length, 16);
  h.writeUInt32LE(bodyLength, 20);
  hash.copy(h, 24);
  return h;
}

/** Decompresses `src` into `dst`: the bytes written, or -1 when `src` is not a valid block that fits. */
export type Decompress = (src: Uint8Array, dst: Uint8Array) => number;

let scratch = Buffer.alloc(0);

/** A verified hit: the stored body (compressed, or the block itself when `raw`). */
export interface CacheHit {
  body: Buffer;
  raw: boolean;
}

/**
 * Looks the block up. Returns the hit, 'miss' when there is no entry, or 'bad' when something is there but is
 * not a valid entry for exactly this block and these settings (truncated, wrong length, bad header, hash
 * mismatch, a body that does not decompress to the block, unreadable, or not a regular file).
 */
export function readEntry(
  dir: string,
  cfg: CompressorConfig,
  data: Uint8Array,
  hash: Buffer,
  decompress: Decompress,
): CacheHit | 'miss' | 'bad' {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted as an entry must not hang the open (fstat then refuses it).
    fd = openSync(
      join(dir, entryName(cfg, hash)),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'miss' : 'bad';
  }
  try {
    const st = fstatSync(fd);
    // A compressed body is shorter than the block; a raw one is the block.
    if (!st.isFile() || st.size <= HEADER_BYTES || st.size > HEADER_BYTES + data.length) return 'bad';
    const buf = Buffer.allocUnsafe(st.size);
    if (readSync(fd, buf, 0, st.size, 0) !== st.size) return 'bad';
    const body = buf.subarray(HEADER_BYTES);
    const raw = buf[6] === 1;
    const want = header(cfg, data.length, hash, body.length, raw);
    if (!buf.subarray(0, HEADER_BYTES).equals(want)) return 'bad';
    if (raw) return body.length === data.length && body.equals(data) ? { body, raw } : 'bad';
    if (body.length >= data.length) return 'bad';
    // One byte of room: a body that decompresses to more than the block fails the length check.
    if (scratch.length < data.length + 1) scratch = Buffer.alloc(data.length + 1);
    const out = scratch.subarray(0, data.length + 1);
    if (decompress(body, out) !== data.length || !out.subarray(0, data.length).equals(data)) return 'bad';
    return { body, raw };
  } catch {
    return 'bad';
  } finally {
    closeSync(fd);
  }
}

/**
 * Stores a block's compressed (or raw) bytes, replacing whatever is at its name. Returns false when the entry
 * cannot be written (a read-only or full cache, a folder in the entry's place): the cache is an optimisation,
 * the build goes on.
 */
export function writeEntry(
  dir: string,
  cfg: CompressorConfig,
  data: Uint8Array,
  hash: Buffer,
  body: Uint8Array,
  raw: boolean,
): boolean {
  const name = entryName(cfg, hash);
  const tmp = join(dir, leasedName(`.${name}.tmp-`));
  let fd: number;
  try {
    fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch {
    return false;
  }
  let open = true;
  try {
    const bytes = Buffer.concat([header(cfg, data.length, hash, body.length, raw), body]);
    if (writeSync(fd, bytes) !== bytes.length) throw new Error('short write');
    open = false;
    closeSync(fd);
    // rename replaces a symlink or FIFO at the name itself, never what it points at.
    renameSync(tmp, join(dir, name));
    return true;
  } catch {
    if (open) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    return false;
  }
}
