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

export function serializeTree(writer: NativeSquashWriter, root: TreeNode, opts: SerializeOptions): number {
  const cache = new Map<TreeNode, TreeNode[]>();
  const sorted = (dir: TreeNode) => sortedChildren(dir, cache);
  const count = number(root, sorted);
  const W = INODE.words;
  /** Fills the slots every inode has, at `f[at]`. */
  const base = (f: Float64Array, at: number, n: TreeNode, mode: number, nlink: number): void => {
    f.fill(0, at, at + W);
    f[at + INODE.mode] = mode;
    f[at + INODE.uid] = opts.allRoot ? 0 : n.uid;
    f[at + INODE.gid] = opts.allRoot ? 0 : n.gid;
    f[at + INODE.mtime] = opts.mtime ?? n.mtime;
    f[at + INODE.ino] = n.ino as number;
    f[at + INODE.nlink] = nlink;
    f[at + INODE.xattr] = n.xattrs.length
      ? writer.addXattrs(
          n.xattrs.filter(([k]) => XATTR_PREFIXES.some((p) => k.startsWith(p))),
          n.path,
        )
      : NO_XATTR;
  };
  const named = (n: TreeNode, err: unknown): Error =>
    new Error(`${(err as Error).message}: ${n.path}`, { cause: err });

  // Leaves go to the writer a run at a time (one call per run, not per inode), in the order they are queued.
  let leaves: TreeNode[] = [];
  let fields = new Float64Array(64 * W);
  let spans = new Uint32Array(128);
  let payload = new Uint8Array(1 << 16);
  let used = 0;
  const queueLeaf = (n: TreeNode): void => {
    if (n.kind === 'dir') throw new Error(`internal: directory as leaf ${n.path}`);
    const k = leaves.length;
    fields = grow(fields, (k + 1) * W, (m) => new Float64Array(m));
    spans = grow(spans, 2 * k + 2, (m) => new Uint32Array(m));
    const at = k * W;
    base(fields, at, n, TYPE_BITS[n.kind] | n.perm, n.links ?? 1);
    let start = used;
    let length = 0;
    if (n.kind === 'file') {
      const d = (n.linkData ?? n).data;
      fields[at + INODE.size] = n.size ?? 0;
      fields[at + INODE.start] = d?.start ?? 0;
      fields[at + INODE.fragIndex] = d?.fragIndex ?? NO_FRAGMENT;
      fields[at + INODE.fragOffset] = d?.fragOffset ?? 0;
      fields[at + INODE.sparse] = d?.sparse ?? 0;
      if (d?.blocks.length) {
        // Block size words, little-endian like the image, 4-byte aligned for the view.
        start = (used + 3) & ~3;
        length = 4 * d.blocks.length;
        payload = grow(payload, start + length, (m) => new Uint8Array(m));
        new Uint32Array(payload.buffer, start, d.blocks.length).set(d.blocks);
      }
    } else {
      fields[at + INODE.devno] = n.devno ?? 0;
      if (n.kind === 'symlink' && n.target) {
        length = n.target.length;
        payload = grow(payload, start + length, (m) => new Uint8Array(m));
        payload.set(n.target, start);
      }
    }
    spans[2 * k] = start;
    spans[2 * k + 1] = length;
    used = start + length;
    leaves.push(n);
    n.ref = QUEUED;
  };
  const flushLeaves = (): void => {
    if (!leaves.length) return;
    const batch = leaves;
    leaves = [];
    let refs: Float64Array;
    try {
      refs = writer.writeInodes(fields.subarray(0, batch.length * W), spans, payload.subarray(0, used));
    } catch (err) {
      const i = (err as { index?: number }).index;
      throw i === undefined ? err : named(batch[i] as TreeNode, err);
    }
    batch.forEach((n, i) => {
      n.ref = refs[i] as number;
    });
    used = 0;
  };

  let names = new Uint8Array(1 << 12);
  let ends = new Uint32Array(64);
  let entries = new Float64Array(192);
  const dirFields = new Float64Array(W);
  const visit = (dir: TreeNode, parent: number): number => {
    const kids = sorted(dir);
    let subdirs = 0;
    for (const c of kids) {
      if (c.kind === 'dir') {
        // The subdirectory's inodes come after the leaves before it, as when they were written one by one.
        flushLeaves();
        c.ref = visit(c, dir.ino as number);
        subdirs++;
      } else {
        const o = owner(c);
        if (o.ref === undefined) queueLeaf(o);
      }
    }
    flushLeaves();
    ends = grow(ends, kids.length, (m) => new Uint32Array(m));
    entries = grow(entries, 3 * kids.length, (m) => new Float64Array(m));
    let end = 0;
    kids.forEach((c, i) => {
      const o = owner(c);
      names = grow(names, end + c.name.length, (m) => new Uint8Array(m));
      names.set(c.name, end);
      end += c.name.length;
      ends[i] = end;
      entries[3 * i] = o.ino as number;
      entries[3 * i + 1] = o.ref as number;
      entries[3 * i + 2] = TYPE_BITS[o.kind] | o.perm;
    });
    base(dirFields, 0, dir, TYPE_BITS.dir | dir.perm, 2 + subdirs);
    dirFields[INODE.parent] = parent;
    try {
      return writer.writeDir(names.subarray(0, end), ends.subarray(0, kids.length), entries, dirFields);
    } catch (err) {
      const i = (err as { index?: number }).index;
      throw named(i === undefined ? dir : (kids[i] as TreeNode), err);
    }
  };
  root.ref = visit(root, count + 1);
  writer.finish({ rootRef: root.ref, rootIno: root.ino as number, inodeCount: count });
  return count;
}
