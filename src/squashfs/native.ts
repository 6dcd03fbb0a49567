import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the native addon reports about the libsquashfs it is linked against. */
export interface NativeInfo {
  libsquashfs: string;
  compressors: string[];
}

/** Compressor settings shared by the writer (metadata) and the workers (data blocks). */
export interface CompressorConfig {
  comp: 'gzip' | 'xz' | 'lz4' | 'zstd';
  level?: number;
  blockSize: number;
}

/** Inode description for {@link NativeSquashWriter.writeInode}. */
export interface NativeInode {
  kind: 'file' | 'symlink' | 'chr' | 'blk' | 'fifo' | 'sock';
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  ino: number;
  nlink: number;
  xattr: number;
  start?: number;
  size?: number;
  sparse?: number;
  fragIndex?: number;
  fragOffset?: number;
  blocks?: Uint32Array;
  target?: Buffer;
  devno?: number;
}

export interface NativeDirInode {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  ino: number;
  nlink: number;
  xattr: number;
  parent: number;
}

/** The libsquashfs-backed image writer (native/writer.cc). */
export interface NativeSquashWriter {
  /** Offset the next data byte goes to. */
  dataEnd(): number;
  /** Declares bytes up to `end` written by the caller (through its own file descriptor). */
  adoptData(end: number): void;
  addFragment(location: number, sizeWord: number): number;
  addXattrs(pairs: [string, Uint8Array][], path: string): number;
  writeInode(inode: NativeInode): number;
  beginDir(): void;
  addEntry(name: Buffer, ino: number, ref: number, mode: number): void;
  endDir(dir: NativeDirInode): number;
  finish(root: { rootRef: number; rootIno: number; inodeCount: number }): number;
  close(): void;
}

export interface NativeBlockCompressor {
  /** Compressed length written to dst, or 0 when the block does not shrink. */
  compress(src: Uint8Array, dst: Uint8Array): number;
}

interface NativeAddon {
  info(): NativeInfo;
  SquashWriter: new (path: string, opts: CompressorConfig & { mkfsTime: number }) => NativeSquashWriter;
  BlockCompressor: new (opts: CompressorConfig) => NativeBlockCompressor;
  readXattrs(path: Buffer | string): [string, Buffer][];
  scanDir(dir: Buffer, xattrs: boolean): ScannedDir;
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

/** Loads the addon once per thread (it is context-aware, so worker threads may load it too). */
export function native(): NativeAddon {
  if (!addon) {
    const path = join(findRoot(), 'build', 'Release', 'airship_native.node');
    try {
      addon = require(path) as NativeAddon;
    } catch (err) {
      throw new Error(`native addon not built (${path}); run \`npm run build:native\``, { cause: err });
    }
  }
  return addon;
}

/** libsquashfs version and the compressors it supports. */
export function nativeInfo(): NativeInfo {
  return native().info();
}
