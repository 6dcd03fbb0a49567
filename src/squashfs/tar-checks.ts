/**
 * What a tar entry may say before it becomes an inode: its name must stay inside the image and fit a SquashFS
 * directory entry, and its numbers must fit the SquashFS inode fields, so an archive can never yield an image
 * that readers reject or that points outside its own root. Each check returns the reason, or undefined.
 */
import type { TarHeader } from './tar-reader.js';

/** Linux's NAME_MAX; SquashFS directory entries hold up to 256 bytes, the kernel's readdir 255. */
export const MAX_NAME_BYTES = 255;
/** Linux's PATH_MAX less the NUL: the longest symlink target readlink can return. */
export const MAX_SYMLINK_BYTES = 4095;
/** SquashFS stores ids (through its id table) and mtimes as unsigned 32-bit numbers. */
const U32_MAX = 0xffff_ffff;
/** The kernel's dev_t as SquashFS stores it (new_encode_dev): 12-bit major, 20-bit minor. */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xf_ffff;

/**
 * The entry's path relative to the image root, "a/b/c" in raw bytes as latin1; "" for the root itself.
 * `./`, repeated and trailing slashes are normalised away; an absolute name, a `..` component, a NUL, an empty
 * name or a component over {@link MAX_NAME_BYTES} is refused (a full path may be longer).
 */
export function entryPath(raw: Buffer): { rel: string } | { error: string } {
  if (raw.length === 0) return { error: 'empty name' };
  if (raw.includes(0)) return { error: 'NUL byte in name' };
  if (raw[0] === 0x2f) return { error: 'absolute name' };
  const parts: string[] = [];
  for (const part of raw.toString('latin1').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { error: "'..' component in name" };
    // latin1: one char per byte, so the length is the byte count.
    if (part.length > MAX_NAME_BYTES)
      return { error: `name component of ${part.length} bytes (at most ${MAX_NAME_BYTES})` };
    parts.push(part);
  }
  return { rel: parts.join('/') };
}

/** Why the entry's numbers or link target cannot go into a SquashFS inode, or undefined. */
export function headerProblem(h: TarHeader): string | undefined {
  if (h.uid > U32_MAX) return `uid ${h.uid} does not fit 32 bits`;
  if (h.gid > U32_MAX) return `gid ${h.gid} does not fit 32 bits`;
  if (h.mtime < 0 || h.mtime > U32_MAX) return `mtime ${h.mtime} outside 0..${U32_MAX} (SquashFS times)`;
  if (h.mode > 0o177777) return `mode ${h.mode.toString(8)} is not a file mode`;
  if (h.type === '3' || h.type === '4') {
    if (h.devmajor > MAX_MAJOR || h.devminor > MAX_MINOR)
      return `device ${h.devmajor}:${h.devminor} does not fit (major ≤ ${MAX_MAJOR}, minor ≤ ${MAX_MINOR})`;
  }
  if (h.type === '2') {
    // A symlink target is data, resolved only inside the mounted image: any bytes but a NUL are fine.
    if (h.linkname.length === 0) return 'empty symlink target';
    if (h.linkname.includes(0)) return 'NUL byte in symlink target';
    if (h.linkname.length > MAX_SYMLINK_BYTES)
      return `symlink target of ${h.linkname.length} bytes (at most ${MAX_SYMLINK_BYTES})`;
  }
  return undefined;
}
