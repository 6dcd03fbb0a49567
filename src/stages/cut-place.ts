/**
 * Where a QCOW cut works (its scratch folder `cut/`) and keeps its cut cache (`cut-cache/`). A cold cut is
 * mostly filesystem work — unpacking the image's tree, hard-linked copies of it, the sparse raw disk — and on
 * a disk that work also costs the kernel's writeback of every byte, competing for the same cores: on the
 * 2-core bench machine the image's extraction took 10.9 s to an ext4 disk and 6.3 s to tmpfs. `auto` therefore
 * works in a per-user folder of /dev/shm when that is a tmpfs with room for the image several times over and
 * the machine has the memory to spare; the cut cache then keeps the image's tree there, in memory, until
 * `image-builder clean`, a reboot, or a cut of another image when no cut has used it for 15 minutes. Anything
 * else works in the cache folder.
 *
 * /dev/shm is writable by every user: the folder is used only when it is a real folder of this user that no
 * one else can write; a folder planted by someone else, or a symlink, is never followed (the cut works on disk
 * and says why).
 */
import { lstat, mkdir, statfs } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join, resolve } from 'node:path';

/** `f_type` of a tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
const GiB = 1024 ** 3;
/**
 * Room asked for, in image sizes: the unpacked tree (about the image), each of two lanes' raw disk (its
 * allocated part about the image) and their osconfig layers, with a margin.
 */
const IMAGES_OF_ROOM = 6;
/** Memory left to everything else (Docker, Ansible, the boot test's guests) besides the room asked for. */
const LEAVE_FREE = 2 * GiB;

export interface CutPlace {
  /** The folder holding `cut/` and `cut-cache/`. */
  root: string;
  /** True when `root` is the in-memory folder `auto` chose. */
  memory: boolean;
  /** Why `auto` worked on disk although /dev/shm is a tmpfs (shown to the user), if it did. */
  note?: string;
}

export interface CutPlaceProbe {
  /** The tmpfs to use (default /dev/shm). */
  shm?: string;
  /** Bytes of memory available (default os.freemem(), MemAvailable on Linux). */
  available?: () => number;
  uid?: number;
}

/** The in-memory folder `auto` would use (for `clean`, which empties it whatever the memory). */
export function memoryCutRoot(probe: CutPlaceProbe = {}): string {
  const uid = probe.uid ?? process.getuid?.() ?? 0;
  return join(probe.shm ?? '/dev/shm', `airship-image-builder-${uid}`);
}

/**
 * Where a cut of an image of `imageBytes` works, as the setting `cutDir` (`auto` or a folder) says; the
 * cache folder `cacheDir` when `auto` cannot use memory.
 */
export async function cutPlace(
  cutDir: string,
  cacheDir: string,
  imageBytes: number,
  probe: CutPlaceProbe = {},
): Promise<CutPlace> {
  if (cutDir !== 'auto') return { root: resolve(cutDir), memory: false };
  const disk = (note?: string): CutPlace => ({
    root: resolve(cacheDir),
    memory: false,
    ...(note ? { note } : {}),
  });
  const shm = probe.shm ?? '/dev/shm';
  const fs = await statfs(shm).catch(() => null);
  if (fs?.type !== TMPFS_MAGIC) return disk();
  const need = IMAGES_OF_ROOM * imageBytes;
  const room = fs.bavail * fs.bsize;
  const available = (probe.available ?? freemem)();
  const gib = (n: number) => `${(n / GiB).toFixed(1)} GiB`;
  if (room < need || available < need + LEAVE_FREE)
    return disk(
      `working on disk: a cut works in ${shm} only with ${gib(need)} free there and ${gib(need + LEAVE_FREE)} of memory available (there are ${gib(room)} and ${gib(available)})`,
    );
  const root = memoryCutRoot(probe);
  const made = await mkdir(root, { mode: 0o700 }).then(
    () => null,
    (err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? null : err),
  );
  if (made) return disk(`working on disk: cannot make ${root} (${made.message})`);
  const problem = await notPrivate(root, probe.uid);
  if (problem) return disk(`working on disk: ${root} is ${problem}, not a private folder of this user`);
  return { root, memory: true };
}

/**
 * What keeps `dir` from being a private folder of this user (a symlink, another user's, open to others), or
 * null when it is one or does not exist.
 */
export async function notPrivate(dir: string, uid = process.getuid?.() ?? 0): Promise<string | null> {
  const st = await lstat(dir).catch(() => null);
  if (!st) return null;
  if (st.isSymbolicLink()) return 'a symlink';
  if (!st.isDirectory()) return 'not a folder';
  if (st.uid !== uid) return `owned by uid ${st.uid}`;
  if (st.mode & 0o077) return 'open to other users';
  return null;
}
