/**
 * An ext4 partition filled from its unpacked tree by the addon (libext2fs for the tables, the kernel's
 * copy_file_range for the bytes) instead of `mke2fs -d`, which writes each 4 KiB block with its own system call
 * and, with its time fix-up by debugfs, cost ~3 s of the cut for the default root. mke2fs still makes the empty
 * filesystem, so its features and layout are the same as before.
 *
 * As root the tree's owners and xattrs are on the files themselves and the fill runs in this process. Without
 * root the owners live in fakeroot's state: the fill then runs as a program under fakeroot (ext4-fill-child.ts),
 * whose stat calls see them, and the caller sets the recorded xattrs afterwards; both give the same bytes.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runUnderFakeroot } from '../engine/mkfs.js';
import { needsFakeroot } from '../engine/tar-extract.js';
import { BuildError } from '../errors.js';
import { native } from '../squashfs/native.js';

/** The fill as a program (for fakeroot), from src/ as from dist/src/: the built one. */
function childScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'ext4-fill-child.js');
  return join(dirname(here), '..', '..', 'dist', 'src', 'stages', 'ext4-fill-child.js');
}

export interface Ext4FillInput {
  /** The disk image holding the empty ext4 (made by mke2fs on zeroed bytes). */
  disk: string;
  /** Where the filesystem starts in `disk`, in bytes. */
  offset: number;
  /** The partition's tree. */
  root: string;
  /** Its mount point, for messages. */
  mount: string;
  /** atime, ctime and crtime of every inode; later mtimes are clamped to it. */
  sourceDateEpoch: number;
  /** fakeroot state of the tree: without root the fill runs under fakeroot with it. */
  fakerootState: string;
  /**
   * Another bundle's fill of this partition's place (its `copied`): runs it copied from the same file
   * versions to the same place are skipped. Used as root only (the fill under fakeroot copies everything).
   */
  base?: BigUint64Array;
  logFile?: string;
  signal?: AbortSignal;
}

/** What a fill did: inodes and bytes written; as root also its record and the runs a base spared. */
export interface Ext4FillResult {
  inodes: number;
  bytes: number;
  /** Every run copied (ext4Fill's `copied`): a base for a later fill of the same place. */
  copied?: BigUint64Array;
  /** [start, end) byte pairs of the disk whose bytes are the base's disk's (not written here). */
  same?: Float64Array;
}

/** Node-style error the addon rejects with. */
interface NativeFsError {
  code?: string;
  path?: string;
  message: string;
}

/**
 * Fills the filesystem; an abort stops it at the next entry.
 * @returns inodes written and bytes of file data copied.
 * @throws BuildError naming the partition (a full filesystem says so), or the signal's reason.
 */
export async function fillExt4(i: Ext4FillInput): Promise<Ext4FillResult> {
  i.signal?.throwIfAborted();
  if (needsFakeroot()) return fillUnderFakeroot(i);
  const abort = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = (): void => {
    Atomics.store(abort, 0, 1);
  };
  i.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await native().ext4Fill(
      Buffer.from(i.disk),
      i.offset,
      Buffer.from(i.root),
      i.sourceDateEpoch,
      abort,
      i.base,
    );
  } catch (err) {
    if (i.signal?.aborted) throw i.signal.reason;
    throw fillError(err as NativeFsError, i.mount);
  } finally {
    i.signal?.removeEventListener('abort', onAbort);
  }
}

/** Without root: the tree's owners and device numbers are in fakeroot's state, which its stat calls see. */
async function fillUnderFakeroot(i: Ext4FillInput): Promise<Ext4FillResult> {
  let out: string;
  try {
    out = await runUnderFakeroot(
      childScript(),
      [i.disk, String(i.offset), i.root, String(i.sourceDateEpoch)],
      {
        fakerootState: i.fakerootState,
        ...(i.logFile ? { logFile: i.logFile } : {}),
        ...(i.signal ? { signal: i.signal } : {}),
      },
    );
  } catch (err) {
    if (i.signal?.aborted) throw i.signal.reason;
    // The program's last line is the addon's error: the same message as a fill in this process.
    const last = (err instanceof BuildError ? (err.details.logTail ?? '') : '').split('\n').at(-1) ?? '';
    const addon = parsedError(last);
    if (addon) throw fillError(addon, i.mount);
    throw new BuildError(`ext4 for ${i.mount}: ${(err as Error).message}`, {}, { cause: err });
  }
  return JSON.parse(out) as { inodes: number; bytes: number };
}

/** The addon's error as ext4-fill-child.ts prints it, or undefined for any other line. */
function parsedError(line: string): NativeFsError | undefined {
  try {
    const e = JSON.parse(line) as Partial<NativeFsError> | null;
    return e && typeof e.message === 'string' ? (e as NativeFsError) : undefined;
  } catch {
    return undefined;
  }
}

function fillError(e: NativeFsError, mount: string): BuildError {
  if (e.code === 'ENOSPC')
    return new BuildError(
      `the files for ${mount} do not fit its partition (${e.message}): move its part_start/part_end in qcow-vars.yaml, or qcow_capacity, to make it larger`,
      {},
      { cause: e },
    );
  return new BuildError(`ext4 for ${mount}: ${e.message}`, {}, { cause: e });
}
