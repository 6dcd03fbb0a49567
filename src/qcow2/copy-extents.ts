/**
 * Partition images copied into the raw disk by their data extents (copy_file_range in the addon).
 */
import { qcow2Native } from './native.js';

/**
 * Copies a partition image into the raw disk at byte `offset`, reading only its data extents: holes stay holes
 * in the disk, and the bytes move in the kernel (no read through JavaScript).
 * @throws Error with `code` and `path` naming the file that could not be opened, read or written.
 */
export function copyDataExtents(src: string, dst: string, offset: number): Promise<number> {
  return qcow2Native().qcow2CopyExtents(src, dst, offset);
}
