/**
 * Modification times clamped to SOURCE_DATE_EPOCH in a tree about to become a filesystem: whatever the cut
 * itself wrote (fstab, grub.cfg, the EFI loader, emptied mount points and their parents) and whatever the qcow
 * osconfig run changed carries the time of the cut, which would make two cuts of one image differ. Entries
 * older than the epoch keep their time, as `tar --clamp-mtime` does.
 */
import { native } from '../squashfs/native.js';

/**
 * Sets atime and mtime of every entry under `root` (and `root` itself) modified after `epoch` to `epoch`.
 * Symlinks are never followed: a folder is entered only when lstat says it is one (the walk is the addon's).
 * @returns how many entries were clamped.
 * @throws Error from lstat/readdir/utimensat naming the path.
 */
export function clampMtimes(root: string, epoch: number): number {
  return native().clampTimes(Buffer.from(root), epoch);
}
