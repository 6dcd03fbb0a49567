/**
 * Modification times clamped to SOURCE_DATE_EPOCH in a tree about to become a filesystem: whatever the cut
 * itself wrote (fstab, grub.cfg, the EFI loader, emptied mount points and their parents) and whatever the qcow
 * osconfig run changed carries the time of the cut, which would make two cuts of one image differ. Entries
 * older than the epoch keep their time, as `tar --clamp-mtime` does.
 */
import { lstatSync, lutimesSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Sets atime and mtime of every entry under `root` (and `root` itself) modified after `epoch` to `epoch`.
 * Symlinks are never followed: a folder is entered only when lstat says it is one.
 * @returns how many entries were clamped.
 * @throws Error from lstat/readdir/lutimes naming the path.
 */
export function clampMtimes(root: string, epoch: number): number {
  let clamped = 0;
  const visit = (path: string): void => {
    const st = lstatSync(path);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    if (st.mtimeMs > epoch * 1000) {
      lutimesSync(path, epoch, epoch);
      clamped++;
    }
  };
  visit(root);
  return clamped;
}
