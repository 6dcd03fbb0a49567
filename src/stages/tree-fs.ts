/**
 * Confined file access inside an extracted image tree (the QCOW root, the ISO's /livecd tree). The image is
 * written by other people: any folder or file in it may be a symlink to a host path, absolute or `../..`.
 * Every path here is walked one component at a time with openat2(2) under RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, relative to a descriptor of the previous folder, so no step
 * can leave the tree and the caller always learns which component was a symlink.
 *
 * Policy (why not RESOLVE_IN_ROOT, which would keep a link inside the tree): the files the cut writes must
 * land where the boot loader and cloud-init look for them, not wherever a link inside the image points. So
 * a symlink in a parent folder is refused (BuildError naming it); a symlink (or a file hard-linked elsewhere)
 * in the last component of a write is removed and a new file made with O_CREAT | O_EXCL, since that file is
 * ours to replace, and a plain file is rewritten in place; a read refuses a symlink anywhere, the last
 * component included. Folders a tool will copy by following links (mcopy for the ESP) are checked by
 * {@link refuseLinksIn}.
 */
import {
  constants as C,
  closeSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { native } from '../squashfs/native.js';

interface ErrnoLike {
  code?: string;
}

const code = (err: unknown): string | undefined => (err as ErrnoLike | null)?.code;

/** An open image tree; {@link ImageTree.close} it when done. */
export class ImageTree {
  private readonly k = native().treeFsConstants;
  private readonly walkFlags: number;

  private constructor(
    /** The tree's folder on the host. */
    readonly root: string,
    private readonly fd: number,
    private readonly shownAs: string,
  ) {
    this.walkFlags = this.k.RESOLVE_BENEATH | this.k.RESOLVE_NO_SYMLINKS | this.k.RESOLVE_NO_MAGICLINKS;
  }

  /**
   * Opens the tree at `root` (a folder the caller made). `shownAs` is where the tree sits in the image, for
   * messages: `` for the image root, `/livecd` for the live-CD tree.
   * @throws BuildError when `root` is not a folder.
   */
  static open(root: string, shownAs = ''): ImageTree {
    const n = native();
    const k = n.treeFsConstants;
    try {
      return new ImageTree(root, n.openat2(k.AT_FDCWD, root, k.O_PATH | k.O_DIRECTORY, 0, 0), shownAs);
    } catch (err) {
      throw new BuildError(
        `cannot open the image tree ${root}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The image path a tree path stands for (`etc/fstab` → `/etc/fstab`, or `/livecd/…` for the ISO tree). */
  shown(path: string): string {
    return `${this.shownAs}/${ImageTree.parts(path, this.shownAs).join('/')}`;
  }

  /**
   * lstat of `path` (a symlink in the last component is reported, not followed); undefined when it or a
   * parent folder does not exist.
   * @throws BuildError when a parent folder is a symlink or not a folder.
   */
  lstat(path: string): Stats | undefined {
    const parts = ImageTree.parts(path, this.shownAs);
    const parent = this.walk(parts.slice(0, -1), false);
    if (parent === undefined) return undefined;
    try {
      const name = parts.at(-1) ?? '.';
      const fd = this.tryOpen(parent, name, this.k.O_PATH | C.O_NOFOLLOW, path);
      if (fd === undefined) return undefined;
      try {
        return fstatSync(fd);
      } finally {
        closeSync(fd);
      }
    } finally {
      if (parent !== this.fd) closeSync(parent);
    }
  }

  /**
   * Reads a regular file.
   * @throws BuildError when it is missing, is not a regular file, or is reached through a symlink.
   */
  readFile(path: string): Buffer {
    const fd = this.openFile(path, C.O_RDONLY | C.O_NONBLOCK, 0);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw this.refuse(path, 'is not a regular file');
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Names in a folder, unsorted.
   * @throws BuildError when it is missing, not a folder, or reached through a symlink.
   */
  readdir(path: string): string[] {
    const fd = this.openFile(path, C.O_RDONLY | this.k.O_DIRECTORY, 0);
    try {
      // The descriptor's own /proc entry names the very folder we opened, not a path that could be swapped.
      return readdirSync(`/proc/self/fd/${fd}`);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes `data` to `path` with `mode`, making missing parent folders (0755). What the image had in the last
   * component (a file, a symlink to anywhere) is replaced, never written through.
   * @throws BuildError when a parent is a symlink or not a folder, or `path` is a folder.
   */
  writeFile(path: string, data: string | Uint8Array, mode = 0o644): void {
    const parts = ImageTree.parts(path, this.shownAs);
    const name = parts.at(-1);
    if (!name) throw this.refuse(path, 'is the tree itself');
    const parent = this.walk(parts.slice(0, -1), true) as number;
    try {
      const old = this.tryOpen(parent, name, this.k.O_PATH | C.O_NOFOLLOW, path);
      let flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
      if (old !== undefined) {
        const st = fstatSync(old);
        closeSync(old);
        if (st.isDirectory()) throw this.refuse(path, 'is a folder');
        // A plain file is rewritten in place (its inode keeps what fakeroot recorded for it); a link, or a
        // file hard-linked elsewhere, is replaced.
        if (st.isFile() && st.nlink === 1) flags = C.O_WRONLY | C.O_TRUNC | C.O_NOFOLLOW | C.O_NONBLOCK;
        else native().unlinkat(parent, name, 0);
      }
      const fd = this.openAt(parent, name, flags, mode, path);
      try {
        if (!fstatSync(fd).isFile()) throw this.refuse(path, 'is not a regular file');
        const buf = typeof data === 'string' ? Buffer.from(data) : data;
        for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at, buf.length - at);
        fchmodSync(fd, mode);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw this.wrap(err, path);
    } finally {
      if (parent !== this.fd) closeSync(parent);
    }
  }

  /**
   * Makes `path` and its missing parents as folders; an existing one is kept. The last one gets `mode`.
   * @throws BuildError when any component is a symlink or not a folder.
   */
  mkdirp(path: string, mode = 0o755): void {
    const fd = this.walk(ImageTree.parts(path, this.shownAs), true) as number;
    try {
      if (fd === this.fd) return;
      const rd = native().openat2(fd, '.', C.O_RDONLY | this.k.O_DIRECTORY, 0, this.walkFlags);
      try {
        fchmodSync(rd, mode);
      } finally {
        closeSync(rd);
      }
    } finally {
      if (fd !== this.fd) closeSync(fd);
    }
  }

  /**
   * Moves `path` (whatever it is; a symlink moves as a link) out of the tree to `dest`, a host path of ours
   * that must not exist yet.
   * @throws BuildError when it is missing or a parent folder is a symlink.
   */
  moveOut(path: string, dest: string): void {
    const parts = ImageTree.parts(path, this.shownAs);
    const name = parts.at(-1);
    if (!name) throw this.refuse(path, 'is the tree itself');
    const parent = this.walk(parts.slice(0, -1), false);
    if (parent === undefined) throw this.refuse(path, 'does not exist');
    try {
      native().renameat(parent, name, this.k.AT_FDCWD, dest);
    } catch (err) {
      throw this.wrap(err, path);
    } finally {
      if (parent !== this.fd) closeSync(parent);
    }
  }

  /**
   * Copies a folder's regular files and sub-folders out of the tree into `dest` (made if missing), e.g. GRUB's
   * module folder for grub-mkimage, which would otherwise read through any link in it.
   * @throws BuildError on a symlink or special file anywhere in it.
   */
  copyFolderOut(path: string, dest: string): void {
    const st = this.lstat(path);
    if (!st) throw this.refuse(path, 'does not exist');
    if (!st.isDirectory())
      throw this.refuse(path, st.isSymbolicLink() ? this.linkWhy(path) : 'is not a folder');
    this.copyOut(ImageTree.parts(path, this.shownAs).join('/'), dest);
  }

  private copyOut(rel: string, dest: string): void {
    const dir = this.openFile(rel, C.O_RDONLY | this.k.O_DIRECTORY, 0);
    try {
      this.copyFolderAt(dir, rel, dest);
    } finally {
      closeSync(dir);
    }
  }

  /** The folder open at `dir` (tree path `rel`) copied to `dest`, each entry opened relative to its folder. */
  private copyFolderAt(dir: number, rel: string, dest: string): void {
    native().mkdirat(this.k.AT_FDCWD, dest, 0o755);
    for (const name of readdirSync(`/proc/self/fd/${dir}`).sort()) {
      const sub = `${rel}/${name}`;
      const at = this.openAt(dir, name, this.k.O_PATH | C.O_NOFOLLOW, 0, sub);
      let st: Stats;
      try {
        st = fstatSync(at);
      } finally {
        closeSync(at);
      }
      if (!st.isDirectory() && !st.isFile())
        throw this.refuse(sub, st.isSymbolicLink() ? this.linkWhy(sub) : 'is not a regular file or folder');
      const flags = st.isDirectory() ? C.O_RDONLY | this.k.O_DIRECTORY : C.O_RDONLY | C.O_NONBLOCK;
      const fd = this.openAt(dir, name, flags | C.O_NOFOLLOW, 0, sub);
      try {
        const now = fstatSync(fd);
        if (now.ino !== st.ino || now.dev !== st.dev) throw this.refuse(sub, 'changed while it was copied');
        if (st.isDirectory()) this.copyFolderAt(fd, sub, join(dest, name));
        else this.copyFileOut(fd, join(dest, name));
      } finally {
        closeSync(fd);
      }
    }
  }

  private copyFileOut(src: number, dest: string): void {
    const fd = native().openat2(
      this.k.AT_FDCWD,
      dest,
      C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW,
      0o644,
      0,
    );
    try {
      const buf = readFileSync(src);
      for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at, buf.length - at);
    } finally {
      closeSync(fd);
    }
  }

  /** Splits a tree path into names; `.`, `..` and empty names are refused, so nothing climbs out. */
  private static parts(path: string, shownAs: string): string[] {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..') || path.includes('\0'))
      throw new BuildError(
        `${shownAs}/${path.replace(/^\/+/, '')}: a path in the image tree may not hold ".." or NUL`,
      );
    return parts;
  }

  /**
   * Descriptor of the folder `parts` names, one component at a time (making missing ones when `create`);
   * undefined when one is missing and `create` is off. The tree's own descriptor is returned for no parts.
   */
  private walk(parts: readonly string[], create: boolean): number | undefined {
    let cur = this.fd;
    try {
      for (let i = 0; i < parts.length; i++) {
        const name = parts[i] as string;
        const shown = parts.slice(0, i + 1).join('/');
        let next = this.tryOpen(cur, name, this.k.O_PATH | C.O_NOFOLLOW, shown);
        if (next === undefined) {
          if (!create) {
            if (cur !== this.fd) closeSync(cur);
            return undefined;
          }
          try {
            native().mkdirat(cur, name, 0o755);
          } catch (err) {
            if (code(err) !== 'EEXIST') throw this.wrap(err, shown);
          }
          next = this.openAt(cur, name, this.k.O_PATH | C.O_NOFOLLOW, 0, shown);
        }
        const st = fstatSync(next);
        if (!st.isDirectory()) {
          closeSync(next);
          throw this.refuse(shown, st.isSymbolicLink() ? linkWhy(readLinkAt(cur, name)) : 'is not a folder');
        }
        if (cur !== this.fd) closeSync(cur);
        cur = next;
      }
      return cur;
    } catch (err) {
      if (cur !== this.fd) closeSync(cur);
      throw err;
    }
  }

  /** Opens a non-folder path for reading or a folder for listing; symlinks anywhere refused. */
  private openFile(path: string, flags: number, mode: number): number {
    const parts = ImageTree.parts(path, this.shownAs);
    const parent = this.walk(parts.slice(0, -1), false);
    if (parent === undefined) throw this.refuse(path, 'does not exist');
    try {
      return this.openAt(parent, parts.at(-1) ?? '.', flags | C.O_NOFOLLOW, mode, path);
    } finally {
      if (parent !== this.fd) closeSync(parent);
    }
  }

  private tryOpen(dirfd: number, name: string, flags: number, shown: string): number | undefined {
    try {
      return native().openat2(dirfd, name, flags, 0, this.walkFlags);
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw this.wrap(err, shown, dirfd, name);
    }
  }

  private openAt(dirfd: number, name: string, flags: number, mode: number, shown: string): number {
    try {
      // openat2 refuses a mode without O_CREAT.
      return native().openat2(dirfd, name, flags, flags & C.O_CREAT ? mode : 0, this.walkFlags);
    } catch (err) {
      throw this.wrap(err, shown, dirfd, name);
    }
  }

  private wrap(err: unknown, path: string, dirfd?: number, name?: string): Error {
    if (err instanceof BuildError) return err;
    const c = code(err);
    const target = dirfd === undefined ? undefined : readLinkAt(dirfd, name as string);
    // O_DIRECTORY on a link gives ENOTDIR before O_NOFOLLOW's ELOOP.
    if (c === 'ELOOP' || (c === 'ENOTDIR' && target !== undefined)) return this.refuse(path, linkWhy(target));
    if (c === 'ENOENT') return this.refuse(path, 'does not exist');
    if (c === 'ENOTDIR') return this.refuse(path, 'is not a folder');
    if (c === 'EXDEV') return this.refuse(path, 'resolves outside the image tree');
    return new BuildError(`${this.shown(path)}: ${(err as Error).message}`, {}, { cause: err });
  }

  /** Why a symlink at `path` (whose parents were just walked) is refused, with its target when readable. */
  private linkWhy(path: string): string {
    let target: string | undefined;
    try {
      target = readlinkSync(join(this.root, ImageTree.parts(path, this.shownAs).join('/')));
    } catch {
      target = undefined;
    }
    return linkWhy(target);
  }

  private refuse(path: string, why: string): BuildError {
    return new BuildError(`the image's ${this.shown(path)} ${why}`);
  }
}

function linkWhy(target: string | undefined): string {
  return `is a symlink${target ? ` (to ${target})` : ''}; the cut does not follow links in the image`;
}

/** A link's target read through the folder's descriptor (for messages only). */
function readLinkAt(dirfd: number, name: string): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${dirfd}/${name}`);
  } catch {
    return undefined;
  }
}

/**
 * Refuses a folder (moved out of an image tree, about to be copied by a tool that follows links, such as
 * mcopy into a FAT filesystem) holding anything but folders and regular files. `shownAs` names it in the image.
 * @throws BuildError naming the first symlink or special file.
 */
export function refuseLinksIn(dir: string, shownAs: string): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    const shown = `${shownAs.replace(/\/$/, '')}/${name}`;
    if (st.isDirectory()) refuseLinksIn(p, shown);
    else if (st.isSymbolicLink())
      throw new BuildError(
        `the image's ${shown} is a symlink (to ${readlinkSync(p)}); a FAT filesystem cannot hold one and copying would follow it`,
      );
    else if (!st.isFile()) throw new BuildError(`the image's ${shown} is not a regular file or folder`);
  }
}
