/**
 * The cut cache (`<cacheDir>/cut-cache`): what a QCOW cut reuses from an earlier cut of the same image — the
 * image's unpacked root tree, keyed by image ID and SOURCE_DATE_EPOCH (`trees/<id>-<epoch>`), and each bundle's qcow osconfig layer, keyed by
 * image ID and the digest of everything that osconfig run reads (`layers/<id>-<key>`). A re-cut, or a second
 * bundle, then neither exports the image nor runs Ansible again.
 *
 * Entries are made under a leased temp name and renamed into place, so an interrupted cut leaves only a leased
 * leftover that the reaper removes, never a half-written entry. A changed image has another ID: its entries
 * are new, and the old image's entries under the same reference are dropped. What is read back is hostile
 * input: an entry must be a real folder owned by this user and writable by no one else, its meta must name the
 * image, a tree must be a real folder, a layer's tars plain files named by us (their entries are checked again
 * by stages/layer.ts when applied). Anything else is refused, naming the entry.
 */
import { lstat, mkdir, readdir, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { removeTree } from '../engine/remove-tree.js';
import { BuildError } from '../errors.js';
import { leasedName } from '../lease.js';
import { clampMtimes } from './clamp-times.js';
import type { OsconfigLayer } from './osconfig.js';
import { xattrsFileOf } from './tree-xattrs.js';

/** A tree unpacked from an image: the tree and the fakeroot state of its owners (used when not root). */
export interface UnpackedTree {
  tree: string;
  stateFile: string;
}

interface TreeMeta {
  v: 1;
  imageId: string;
  imageRef: string;
  /** SOURCE_DATE_EPOCH the tree's mtimes are clamped to (part of the entry's name). */
  epoch: number;
}

interface LayerMeta {
  v: 1;
  imageId: string;
  imageRef: string;
  key: string;
  deleted: string[];
  /** File names inside the entry, in order. */
  tars: string[];
}

const ID = /^sha256:([0-9a-f]{64})$/;
const KEY = /^[0-9a-f]{64}$/;
const TAR = /^layer-\d{1,6}\.tar$/;
/** How long a tree another cut used stays when a cut in memory drops other images' trees. */
const TREE_IDLE_MS = 15 * 60_000;

/** The hex part of an image ID, which names its entries. @throws BuildError for anything else. */
function idHex(imageId: string): string {
  const m = ID.exec(imageId);
  if (!m?.[1]) throw new BuildError(`cut cache: unexpected image id ${JSON.stringify(imageId)}`);
  return m[1];
}

/** @throws BuildError: the cache entry `dir` is not ours or not as we write it. */
function refuse(dir: string, why: string): never {
  throw new BuildError(`cut cache: ${dir} ${why}; refused (remove it, or run \`image-builder clean\`)`);
}

/** A tree's entry name: the image and the epoch its mtimes are clamped to. */
function treeName(imageId: string, epoch: number): string {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new BuildError(`cut cache: unexpected epoch ${epoch}`);
  return `${idHex(imageId)}-${epoch}`;
}

export class CutCache {
  readonly root: string;

  constructor(cacheDir: string) {
    this.root = join(cacheDir, 'cut-cache');
  }

  /** Where temp entries live, for the reaper's sweep. */
  folders(): string[] {
    return [join(this.root, 'trees'), join(this.root, 'layers')];
  }

  private async place(kind: 'trees' | 'layers'): Promise<string> {
    const dir = join(this.root, kind);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /**
   * Checks that `dir` is an entry of ours and returns its meta, or null when there is no entry.
   * @throws BuildError naming the entry when it is anything else.
   */
  private async readEntry<M extends { v: number; imageId: string }>(
    dir: string,
    imageId: string,
  ): Promise<M | null> {
    const st = await lstat(dir).catch(() => null);
    if (!st) return null;
    if (!st.isDirectory()) refuse(dir, st.isSymbolicLink() ? 'is a symlink' : 'is not a folder');
    const uid = process.getuid?.() ?? 0;
    if (st.uid !== uid) refuse(dir, `belongs to uid ${st.uid}, not to this user (${uid})`);
    if (st.mode & 0o022) refuse(dir, 'is writable by others');
    const metaFile = join(dir, 'meta.json');
    const ms = await lstat(metaFile).catch(() => null);
    if (!ms?.isFile()) refuse(dir, 'has no meta.json file');
    let meta: M;
    try {
      meta = JSON.parse(await readFile(metaFile, 'utf8')) as M;
    } catch (err) {
      return refuse(dir, `has an unreadable meta.json (${(err as Error).message})`);
    }
    if (meta?.v !== 1 || meta.imageId !== imageId) refuse(dir, `is not an entry of image ${imageId}`);
    return meta;
  }

  /**
   * Writes a new entry `name` of `kind` through `fill` (given an empty leased temp folder) and renames it into
   * place; when a concurrent cut placed the same entry first, the temp folder is dropped and theirs is used.
   * The temp folder is removed when `fill` or the rename fails.
   */
  private async putEntry<M>(
    kind: 'trees' | 'layers',
    name: string,
    fill: (tmp: string) => Promise<M>,
  ): Promise<{ dir: string; meta: M }> {
    const tmp = join(await this.place(kind), leasedName('.tmp-'));
    await mkdir(tmp, { mode: 0o700 });
    try {
      const meta = await fill(tmp);
      await writeFile(join(tmp, 'meta.json'), `${JSON.stringify(meta)}\n`, { mode: 0o600, flag: 'wx' });
      const dir = join(this.root, kind, name);
      try {
        await rename(tmp, dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        await removeTree(tmp);
      }
      return { dir, meta };
    } catch (err) {
      await removeTree(tmp);
      throw err;
    }
  }

  /**
   * The cached tree of `image` with mtimes clamped to `epoch`, or null when there is none.
   * @throws BuildError when the entry is refused.
   */
  async cachedTree(image: { id: string }, epoch: number): Promise<UnpackedTree | null> {
    const dir = join(this.root, 'trees', treeName(image.id, epoch));
    const meta = await this.readEntry<TreeMeta>(dir, image.id);
    if (!meta) return null;
    if (meta.epoch !== epoch) refuse(dir, `is not clamped to ${epoch}`);
    const tree = await this.checkedTree(dir);
    // Marks the tree used now (see dropOtherTrees).
    const now = new Date();
    await utimes(join(dir, 'meta.json'), now, now);
    return tree;
  }

  /**
   * A tree that `unpack` makes in an empty folder (as `tree` and `fakeroot.state`), its mtimes clamped to
   * `epoch` (as every cut clamps them: a cut never changes a shared inode then), placed in the cache. When a
   * concurrent cut placed it first, theirs is used and this one removed.
   * @throws BuildError when the entry in place is refused; whatever `unpack` throws (nothing is left then).
   */
  async newTree(
    image: { id: string; ref: string },
    epoch: number,
    unpack: (dir: string) => Promise<UnpackedTree>,
  ): Promise<UnpackedTree> {
    const dir = join(this.root, 'trees', treeName(image.id, epoch));
    const tmp = join(await this.place('trees'), leasedName('.tmp-'));
    await mkdir(tmp, { mode: 0o700 });
    const drop = () => removeTree(tmp);
    try {
      const own = await unpack(tmp);
      if (basename(own.tree) !== 'tree' || basename(own.stateFile) !== 'fakeroot.state')
        throw new BuildError('cut cache: a tree must be unpacked as tree and fakeroot.state');
      clampMtimes(own.tree, epoch);
      const m: TreeMeta = { v: 1, imageId: image.id, imageRef: image.ref, epoch };
      await writeFile(join(tmp, 'meta.json'), `${JSON.stringify(m)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
        // A concurrent cut placed the same tree first: theirs is used.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        await drop();
      });
      const placed = await this.cachedTree(image, epoch);
      if (!placed) throw new BuildError(`cut cache: ${dir} vanished while it was placed`);
      return placed;
    } catch (err) {
      await drop();
      throw err;
    }
  }

  private async checkedTree(dir: string): Promise<UnpackedTree> {
    const tree = join(dir, 'tree');
    const stateFile = join(dir, 'fakeroot.state');
    const t = await lstat(tree).catch(() => null);
    const s = await lstat(stateFile).catch(() => null);
    if (!t?.isDirectory())
      refuse(dir, `has a tree that is ${t?.isSymbolicLink() ? 'a symlink' : 'not a folder'}`);
    if (!s?.isFile()) refuse(dir, 'has a fakeroot.state that is not a file');
    // The xattrs side file of a tree unpacked without root (stages/tree-xattrs.ts); absent as root.
    const x = await lstat(xattrsFileOf(stateFile)).catch(() => null);
    if (x && !x.isFile()) refuse(dir, 'has an xattrs side file that is not a file');
    return { tree, stateFile };
  }

  /**
   * The osconfig layer of `key` (a digest of everything the run reads) on image `imageId`: the cached one, or
   * the one `make` writes (tars named `<prefix>-N.tar`), kept for later cuts.
   * @throws BuildError when a cached entry is refused; whatever `make` throws (nothing is left then).
   */
  async layer(
    image: { id: string; ref: string },
    key: string,
    make: (prefix: string) => Promise<OsconfigLayer>,
  ): Promise<OsconfigLayer & { reused: boolean }> {
    if (!KEY.test(key)) throw new BuildError(`cut cache: unexpected layer key ${JSON.stringify(key)}`);
    const name = `${idHex(image.id)}-${key}`;
    const cached = await this.readEntry<LayerMeta>(join(this.root, 'layers', name), image.id);
    if (cached)
      return { ...(await this.checkedLayer(join(this.root, 'layers', name), cached)), reused: true };
    const placed = await this.putEntry<LayerMeta>('layers', name, async (tmp) => {
      const made = await make(join(tmp, 'layer'));
      const tars = made.tars.map((t) => basename(t));
      return { v: 1, imageId: image.id, imageRef: image.ref, key, deleted: made.deleted, tars };
    });
    const meta = (await this.readEntry<LayerMeta>(placed.dir, image.id)) ?? placed.meta;
    return { ...(await this.checkedLayer(placed.dir, meta)), reused: false };
  }

  private async checkedLayer(dir: string, meta: LayerMeta): Promise<OsconfigLayer> {
    if (!Array.isArray(meta.deleted) || !meta.deleted.every((d) => typeof d === 'string'))
      refuse(dir, 'has deleted paths that are not a list of strings');
    if (!Array.isArray(meta.tars)) refuse(dir, 'has tars that are not a list');
    const tars: string[] = [];
    for (const t of meta.tars) {
      if (typeof t !== 'string' || !TAR.test(t))
        refuse(dir, `has a tar ${JSON.stringify(t)} that is not named layer-N.tar`);
      const st = await lstat(join(dir, t)).catch(() => null);
      if (!st?.isFile()) refuse(dir, `has a tar ${t} that is not a file`);
      tars.push(join(dir, t));
    }
    return { deleted: meta.deleted, tars };
  }

  /**
   * Removes the trees of every image but `imageId` that no cut has used for `idleMs` (a cut cache in memory
   * keeps one image's tree; a tree another cut is copying from right now stays).
   */
  async dropOtherTrees(imageId: string, idleMs = TREE_IDLE_MS): Promise<number> {
    const keep = `${idHex(imageId)}-`;
    const dir = join(this.root, 'trees');
    let dropped = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith('.') || name.startsWith(keep)) continue;
      const used = await lstat(join(dir, name, 'meta.json')).catch(() => null);
      if (used && Date.now() - used.mtimeMs < idleMs) continue;
      await removeTree(join(dir, name));
      dropped++;
    }
    return dropped;
  }

  /**
   * Removes the entries of other images made under `imageRef` (the image changed), and, with `imageId`
   * null, every entry of `imageRef`. Entries whose meta cannot be read are left for the reader to refuse.
   */
  async dropStale(imageRef: string, imageId: string | null): Promise<number> {
    let dropped = 0;
    for (const kind of ['trees', 'layers'] as const) {
      const dir = join(this.root, kind);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.startsWith('.')) continue;
        const meta = await readFile(join(dir, name, 'meta.json'), 'utf8')
          .then((t) => JSON.parse(t) as { imageRef?: unknown; imageId?: unknown })
          .catch(() => null);
        if (!meta || meta.imageRef !== imageRef || meta.imageId === imageId) continue;
        await removeTree(join(dir, name));
        dropped++;
      }
    }
    return dropped;
  }
}
