/** Writes inodes and directories in post-order (children before their directory; the root last). */
import { INODE, type NativeSquashWriter } from './native.js';
import { type TreeNode, TYPE_BITS } from './tree.js';

export interface SerializeOptions {
  /** Replaces every inode time (SOURCE_DATE_EPOCH). */
  mtime?: number;
  allRoot: boolean;
}

// SquashFS can only store these xattr namespaces.
const XATTR_PREFIXES = ['user.', 'trusted.', 'security.'];

const NO_XATTR = 0xffffffff;
const NO_FRAGMENT = 0xffffffff;

const owner = (n: TreeNode): TreeNode => n.linkTo ?? n;

/** Children in name-byte order; computed once per directory (numbering and writing both walk it). */
function sortedChildren(dir: TreeNode, cache: Map<TreeNode, TreeNode[]>): TreeNode[] {
  let kids = cache.get(dir);
  if (!kids) {
    kids = [...(dir.children?.values() ?? [])];
    // Sources usually insert in order already; sort only when they did not.
    for (let i = 1; i < kids.length; i++)
      if (Buffer.compare((kids[i - 1] as TreeNode).name, (kids[i] as TreeNode).name) > 0) {
        kids.sort((a, b) => Buffer.compare(a.name, b.name));
        break;
      }
    cache.set(dir, kids);
  }
  return kids;
}

/** Assigns inode numbers 1..N in write order; returns N. */
function number(root: TreeNode, sorted: (dir: TreeNode) => TreeNode[]): number {
  let next = 1;
  const visit = (dir: TreeNode): void => {
    for (const c of sorted(dir)) {
      if (c.kind === 'dir') visit(c);
      else {
        const o = owner(c);
        if (o.ino === undefined) o.ino = next++;
      }
    }
    dir.ino = next++;
  };
  visit(root);
  return next - 1;
}

/** A growable typed array, reused from batch to batch. */
function grow<T extends Float64Array | Uint32Array | Uint8Array>(
  a: T,
  need: number,
  make: (n: number) => T,
): T {
  if (a.length >= need) return a;
  const b = make(Math.max(need, a.length * 2));
  b.set(a as never);
  return b;
}

/** Where a queued inode's reference will be: it is written with the rest of its batch. */
const QUEUED = -1;

/** Serialises one tree: leaves go to the writer a run at a time, each directory after its children. */
class TreeWriter {
  private readonly cache = new Map<TreeNode, TreeNode[]>();
  // Leaves go to the writer a run at a time (one call per run, not per inode), in the order they are queued.
  private leaves: TreeNode[] = [];
  private fields = new Float64Array(64 * INODE.words);
  private spans = new Uint32Array(128);
  private payload = new Uint8Array(1 << 16);
  private used = 0;
  private names = new Uint8Array(1 << 12);
  private ends = new Uint32Array(64);
  private entries = new Float64Array(192);
  private readonly dirFields = new Float64Array(INODE.words);

  constructor(
    private readonly writer: NativeSquashWriter,
    private readonly opts: SerializeOptions,
  ) {}

  sorted(dir: TreeNode): TreeNode[] {
    return sortedChildren(dir, this.cache);
  }

  /** Fills the slots every inode has, at `f[at]`. */
  private base(f: Float64Array, at: number, n: TreeNode, mode: number, nlink: number): void {
    const { opts } = this;
    f.fill(0, at, at + INODE.words);
    f[at + INODE.mode] = mode;
    f[at + INODE.uid] = opts.allRoot ? 0 : n.uid;
    f[at + INODE.gid] = opts.allRoot ? 0 : n.gid;
    f[at + INODE.mtime] = opts.mtime ?? n.mtime;
    f[at + INODE.ino] = n.ino as number;
    f[at + INODE.nlink] = nlink;
    f[at + INODE.xattr] = n.xattrs.length
      ? this.writer.addXattrs(
          n.xattrs.filter(([k]) => XATTR_PREFIXES.some((p) => k.startsWith(p))),
          n.path,
        )
      : NO_XATTR;
  }

  /** Puts a leaf's block list or symlink target in the payload; returns its span there. */
  private leafPayload(n: TreeNode, at: number): [number, number] {
    const f = this.fields;
    if (n.kind !== 'file') {
      f[at + INODE.devno] = n.devno ?? 0;
      if (n.kind !== 'symlink' || !n.target) return [this.used, 0];
      this.payload = grow(this.payload, this.used + n.target.length, (m) => new Uint8Array(m));
      this.payload.set(n.target, this.used);
      return [this.used, n.target.length];
    }
    const d = (n.linkData ?? n).data;
    f[at + INODE.size] = n.size ?? 0;
    f[at + INODE.start] = d?.start ?? 0;
    f[at + INODE.fragIndex] = d?.fragIndex ?? NO_FRAGMENT;
    f[at + INODE.fragOffset] = d?.fragOffset ?? 0;
    f[at + INODE.sparse] = d?.sparse ?? 0;
    if (!d?.blocks.length) return [this.used, 0];
    // Block size words, little-endian like the image, 4-byte aligned for the view.
    const start = (this.used + 3) & ~3;
    const length = 4 * d.blocks.length;
    this.payload = grow(this.payload, start + length, (m) => new Uint8Array(m));
    new Uint32Array(this.payload.buffer, start, d.blocks.length).set(d.blocks);
    return [start, length];
  }

  private queueLeaf(n: TreeNode): void {
    if (n.kind === 'dir') throw new Error(`internal: directory as leaf ${n.path}`);
    const k = this.leaves.length;
    this.fields = grow(this.fields, (k + 1) * INODE.words, (m) => new Float64Array(m));
    this.spans = grow(this.spans, 2 * k + 2, (m) => new Uint32Array(m));
    const at = k * INODE.words;
    this.base(this.fields, at, n, TYPE_BITS[n.kind] | n.perm, n.links ?? 1);
    const [start, length] = this.leafPayload(n, at);
    this.spans[2 * k] = start;
    this.spans[2 * k + 1] = length;
    this.used = start + length;
    this.leaves.push(n);
    n.ref = QUEUED;
  }

  private flushLeaves(): void {
    if (!this.leaves.length) return;
    const batch = this.leaves;
    this.leaves = [];
    let refs: Float64Array;
    try {
      refs = this.writer.writeInodes(
        this.fields.subarray(0, batch.length * INODE.words),
        this.spans,
        this.payload.subarray(0, this.used),
      );
    } catch (err) {
      const i = (err as { index?: number }).index;
      throw i === undefined ? err : named(batch[i] as TreeNode, err);
    }
    batch.forEach((n, i) => {
      n.ref = refs[i] as number;
    });
    this.used = 0;
  }

  /** Writes a directory after everything below it; returns its inode reference. */
  visit(dir: TreeNode, parent: number): number {
    const kids = this.sorted(dir);
    let subdirs = 0;
    for (const c of kids) {
      if (c.kind === 'dir') {
        // The subdirectory's inodes come after the leaves before it, as when they were written one by one.
        this.flushLeaves();
        c.ref = this.visit(c, dir.ino as number);
        subdirs++;
      } else {
        const o = owner(c);
        if (o.ref === undefined) this.queueLeaf(o);
      }
    }
    this.flushLeaves();
    const end = this.entryTable(kids);
    this.base(this.dirFields, 0, dir, TYPE_BITS.dir | dir.perm, 2 + subdirs);
    this.dirFields[INODE.parent] = parent;
    try {
      return this.writer.writeDir(
        this.names.subarray(0, end),
        this.ends.subarray(0, kids.length),
        this.entries,
        this.dirFields,
      );
    } catch (err) {
      const i = (err as { index?: number }).index;
      throw named(i === undefined ? dir : (kids[i] as TreeNode), err);
    }
  }

  /** Fills the names, name ends and entries of a directory's children; returns the names' length. */
  private entryTable(kids: TreeNode[]): number {
    this.ends = grow(this.ends, kids.length, (m) => new Uint32Array(m));
    this.entries = grow(this.entries, 3 * kids.length, (m) => new Float64Array(m));
    let end = 0;
    kids.forEach((c, i) => {
      const o = owner(c);
      this.names = grow(this.names, end + c.name.length, (m) => new Uint8Array(m));
      this.names.set(c.name, end);
      end += c.name.length;
      this.ends[i] = end;
      this.entries[3 * i] = o.ino as number;
      this.entries[3 * i + 1] = o.ref as number;
      this.entries[3 * i + 2] = TYPE_BITS[o.kind] | o.perm;
    });
    return end;
  }
}

const named = (n: TreeNode, err: unknown): Error =>
  new Error(`${(err as Error).message}: ${n.path}`, { cause: err });

/**
 * Numbers the tree's inodes, writes them and the directories, and finishes the image's tables.
 * @throws Error naming the entry when the writer refuses it.
 */
export function serializeTree(writer: NativeSquashWriter, root: TreeNode, opts: SerializeOptions): number {
  const w = new TreeWriter(writer, opts);
  const count = number(root, (dir) => w.sorted(dir));
  root.ref = w.visit(root, count + 1);
  writer.finish({ rootRef: root.ref, rootIno: root.ino as number, inodeCount: count });
  return count;
}
