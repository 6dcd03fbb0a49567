/**
 * The one loader of the native addon (build/Release/airship_native.node) and the types of what it exports:
 * the SquashFS writer, compressors, tree scans; the qcow2 part is typed in src/qcow2/native.ts.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Compression } from '../compressors.js';
import { checkConstants } from './addon-check.js';

/** What the native addon reports about the libraries it uses. */
export interface NativeInfo {
  libsquashfs: string;
  compressors: string[];
  /** The system zlib gzip blocks are made with (not Node's own; the addon does not load without it). */
  zlib: { soname: string; path: string; version: string };
}

/** Compressor settings shared by the writer (metadata) and the workers (data blocks). */
export interface CompressorConfig {
  comp: Compression;
  level?: number;
  blockSize: number;
}

/**
 * Slots of the number array that describes one inode to {@link NativeSquashWriter.writeInodes} and
 * {@link NativeSquashWriter.writeDir}: numbers in a reused typed array cross into C++ far cheaper than an
 * object's properties (tens of thousands of inodes per image). The file type comes from the mode bits.
 */
export const INODE = {
  mode: 0,
  uid: 1,
  gid: 2,
  mtime: 3,
  ino: 4,
  nlink: 5,
  /** xattr index, or 0xffffffff for none. */
  xattr: 6,
  /** Files: size, first data block, fragment index and offset (0xffffffff: no fragment), sparse bytes. */
  size: 7,
  start: 8,
  fragIndex: 9,
  fragOffset: 10,
  sparse: 11,
  /** Character and block devices. */
  devno: 12,
  /** Directories: the parent's inode number. */
  parent: 13,
  words: 14,
} as const;

/** The libsquashfs-backed image writer (native/writer.cc). */
export interface NativeSquashWriter {
  /** Offset the next data byte goes to. */
  dataEnd(): number;
  /** Declares bytes up to `end` written by the caller (through its own file descriptor). */
  adoptData(end: number): void;
  addFragment(location: number, sizeWord: number): number;
  addXattrs(pairs: readonly (readonly [string, Uint8Array])[], path: string): number;
  /**
   * Writes non-directory inodes in order: inode i's INODE slots at `fields[i * INODE.words]`, its payload (a
   * file's block size words, a symlink's target) at `payload[spans[2i], +spans[2i + 1])`. Returns their
   * references; a failure's `index` names the inode.
   */
  writeInodes(fields: Float64Array, spans: Uint32Array, payload: Uint8Array): Float64Array;
  /**
   * Writes a directory: entry i named `names[nameEnds[i - 1], nameEnds[i])` with inode number, reference and
   * mode at `entries[3i..]`, sorted by name bytes; then its inode from `fields`. Returns its reference.
   */
  writeDir(names: Uint8Array, nameEnds: Uint32Array, entries: Float64Array, fields: Float64Array): number;
  finish(root: { rootRef: number; rootIno: number; inodeCount: number }): number;
  close(): void;
}

export interface NativeBlockCompressor {
  /** Compressed length written to dst, or 0 when the block does not shrink. */
  compress(src: Uint8Array, dst: Uint8Array): number;
  /**
   * Compresses a task's records ({@link ITEM} layout) in one call: BLOCKS records block by block (all-zero
   * blocks left out, word 0), FRAGMENT records from their PART records' bytes as one block. A record's `src` is a
   * path's index in `paths` (raw path bytes as latin1, each ended by a NUL) or `-1 - i` for `buffers[i]`. `out`
   * gets the bodies; `table` gets, per record, its bytes, its word count and its size words (raw bit: stored as
   * is). With `cache`, every non-sparse block is first looked up (a hit's body is used as is) and every block
   * compressed is handed to `store`. Returns [body bytes, table words, blocks compressed]. A failure's `record`
   * is the record it hit (code ESHRANK: the file ended first).
   */
  compressTask(
    items: Float64Array,
    paths: string,
    buffers: readonly Uint8Array[],
    out: Uint8Array,
    table: Uint32Array,
    cache?: BlockCacheHooks,
  ): [number, number, number];
}

/** How {@link NativeBlockCompressor.compressTask} asks the block cache (which lives in TypeScript). */
export interface BlockCacheHooks {
  /** The stored body for this block (compressed, or the block itself when stored raw), or undefined. */
  lookup(block: Uint8Array): Uint8Array | undefined;
  store(block: Uint8Array, body: Uint8Array, raw: boolean): void;
}

/** The numbers the addon shares with the TypeScript tables (checked at load: see addon-check.ts). */
export interface NativeConstants {
  compressors: Record<string, { id: number; min?: number; max?: number; default?: number }>;
  blockSize: { min: number; max: number; default: number };
  rawBit: number;
  item: Record<string, number>;
  records: Record<string, number>;
  inode: Record<string, number>;
  scan: Record<string, number>;
}

export interface NativeBlockDecompressor {
  /** Decompresses `src` into `dst`; returns the bytes written, or -1 when `src` is not a valid block that fits. */
  decompress(src: Uint8Array, dst: Uint8Array): number;
}

export interface NativeAddon {
  info(): NativeInfo;
  constants: NativeConstants;
  BlockDecompressor: new (opts: CompressorConfig) => NativeBlockDecompressor;
  SquashWriter: new (path: string, opts: CompressorConfig & { mkfsTime: number }) => NativeSquashWriter;
  BlockCompressor: new (opts: CompressorConfig) => NativeBlockCompressor;
  readXattrs(path: Buffer | string): [string, Buffer][];
  /** `dir`: raw path bytes, as a Buffer or a latin1 string. */
  scanDir(dir: Buffer | string, xattrs: boolean): ScannedDir;
  /** Fills `dst` from the file at `offset` (path: raw bytes as a latin1 string). Error code ESHRANK: the file ended first. */
  readRange(path: string, offset: number, dst: Uint8Array): void;
  /**
   * SHA-256 of the first `sizes[i]` bytes of each file into `out` (32 bytes each). `paths`: raw path bytes as
   * latin1, each ended by a NUL. A failure's `index` names the file.
   */
  hashFiles(paths: string, sizes: Float64Array, out: Uint8Array): void;
  /** openat2(2): an fd for `path` below `dirfd` resolved under `resolve` (RESOLVE_* bits); O_CLOEXEC always added. */
  openat2(dirfd: number, path: Buffer | string, flags: number, mode: number, resolve: number): number;
  mkdirat(dirfd: number, name: Buffer | string, mode: number): void;
  unlinkat(dirfd: number, name: Buffer | string, flags: number): void;
  /** renameat2 with RENAME_NOREPLACE. */
  renameat(fromDirfd: number, fromName: Buffer | string, toDirfd: number, toName: Buffer | string): void;
  /** Constants Node's fs.constants lacks. */
  treeFsConstants: TreeFsConstants;
  /**
   * Sets atime and mtime of every entry under `root` (and `root`) modified after `epoch` (seconds) to `epoch`,
   * never through a symlink. Returns how many entries it set; errors are Node-style (code, path).
   */
  clampTimes(root: Buffer | string, epoch: number): number;
  /**
   * Fills the empty ext4 at `offset` in `disk` (made by mke2fs, on zeroed bytes) with the tree at `root`, on the
   * thread pool: owners, modes, xattrs, hard links and special files as in the tree, atime/ctime/crtime
   * `epoch`, mtime clamped to `epoch`. `abort[0]` set non-zero stops it at the next entry (code ABORT_ERR).
   * Errors are Node-style (code, path); a full filesystem is code ENOSPC.
   *
   * `copied` records every run of file bytes copied (device, inode, mtime seconds and nanoseconds, from, to,
   * length). Given back as `base` to the fill of the same partition in another disk, from another hard-linked
   * copy of the same tree, a run of the same file version to the same place is not copied: `same` then holds
   * those runs as [start, end) byte pairs of the disk, ascending, whose bytes are the base disk's.
   */
  ext4Fill(
    disk: Buffer | string,
    offset: number,
    root: Buffer | string,
    epoch: number,
    abort: Int32Array,
    base?: BigUint64Array,
  ): Promise<{ inodes: number; bytes: number; copied: BigUint64Array; same: Float64Array }>;
}

/** Open, at and resolve flags of the running kernel's headers, for {@link NativeAddon.openat2}. */
export interface TreeFsConstants {
  O_PATH: number;
  O_NOFOLLOW: number;
  O_DIRECTORY: number;
  AT_FDCWD: number;
  AT_REMOVEDIR: number;
  RESOLVE_BENEATH: number;
  RESOLVE_IN_ROOT: number;
  RESOLVE_NO_SYMLINKS: number;
  RESOLVE_NO_MAGICLINKS: number;
  RESOLVE_NO_XDEV: number;
}

/** Numbers per entry in {@link ScannedDir.stats}, in this order. */
export const SCAN = {
  mode: 0,
  uid: 1,
  gid: 2,
  mtime: 3,
  size: 4,
  nlink: 5,
  dev: 6,
  ino: 7,
  rdevMajor: 8,
  rdevMinor: 9,
  words: 10,
} as const;

/** One directory's entries, sorted by name bytes. */
export interface ScannedDir {
  /** Names back to back; entry i is names[ends[i - 1] .. ends[i]). */
  names: Buffer;
  ends: Uint32Array;
  /** {@link SCAN.words} numbers per entry (lstat, not following symlinks). */
  stats: Float64Array;
  /** Link target of each symlink entry. */
  targets: (Buffer | undefined)[];
  /** Entries that have xattrs: [entry index, pairs]. */
  xattrs: [number, [string, Buffer][]][];
}

const require = createRequire(import.meta.url);

/** The package root (the folder holding binding.gyp). */
export function findRoot(): string {
  // src/squashfs (ts via vitest) or dist/src/squashfs (compiled): walk up to the folder holding binding.gyp.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('airship-image-builder: cannot find the package root (binding.gyp)');
}

let addon: NativeAddon | undefined;

/**
 * Loads the addon once per thread (it is context-aware, so worker threads may load it too).
 * @throws Error when it is not built, cannot be loaded, or its constants differ from the TypeScript tables
 *   (code ERR_NATIVE_MISMATCH, every differing number named).
 */
export function native(): NativeAddon {
  if (!addon) {
    const path = join(findRoot(), 'build', 'Release', 'airship_native.node');
    try {
      addon = require(path) as NativeAddon;
    } catch (err) {
      if (!existsSync(path))
        throw new Error(`native addon not built (${path}); run \`npm run build:native\``, { cause: err });
      // Built but refused to load (a library missing, or the system zlib: code ERR_SYSTEM_ZLIB): say why.
      const why = err instanceof Error ? err.message : String(err);
      throw Object.assign(new Error(`native addon ${path} cannot be loaded: ${why}`, { cause: err }), {
        code: (err as NodeJS.ErrnoException).code,
      });
    }
    // An addon built from other sources than these tables would misread records or write wrong images.
    const loaded = addon as NativeAddon;
    addon = undefined;
    checkConstants(loaded.constants, path);
    addon = loaded;
  }
  return addon;
}

/** libsquashfs version, the compressors it supports and the system zlib in use. */
export function nativeInfo(): NativeInfo {
  return native().info();
}
