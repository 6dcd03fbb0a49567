/**
 * An ext4 partition filled from its unpacked tree by the addon (libext2fs for the tables, the kernel's
 * copy_file_range for the bytes) instead of `mke2fs -d`, which writes each 4 KiB block with its own system call
 * and, with its time fix-up by debugfs, cost ~3 s of the cut for the default root. mke2fs still makes the empty
 * filesystem, so its features and layout are the same as before.
 *
 * Used when the tool runs as root: the tree's owners and xattrs are then on the files themselves. Without root
 * they live in fakeroot's state, which only the mke2fs path (run under fakeroot) reads.
 */
import { BuildError } from '../errors.js';
import { native } from '../squashfs/native.js';

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
  signal?: AbortSignal;
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
export async function fillExt4(i: Ext4FillInput): Promise<{ inodes: number; bytes: number }> {
  i.signal?.throwIfAborted();
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
    );
  } catch (err) {
    if (i.signal?.aborted) throw i.signal.reason;
    throw fillError(err as NativeFsError, i.mount);
  } finally {
    i.signal?.removeEventListener('abort', onAbort);
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
