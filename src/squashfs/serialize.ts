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

const NO_BLOCKS = new Uint32Array(0);

export function serializeTree(writer: NativeSquashWriter, root: TreeNode, opts: SerializeOptions): number {
  const cache = new Map<TreeNode, TreeNode[]>();
  const sorted = (dir: TreeNode) => sortedChildren(dir, cache);
  const count = number(root, sorted);
  const f = new Float64Array(INODE.words);
  /** Fills the slots every inode has; returns `f`. */
  const base = (n: TreeNode, mode: number, nlink: number): Float64Array => {
    f.fill(0);
    f[INODE.mode] = mode;
    f[INODE.uid] = opts.allRoot ? 0 : n.uid;
    f[INODE.gid] = opts.allRoot ? 0 : n.gid;
    f[INODE.mtime] = opts.mtime ?? n.mtime;
    f[INODE.ino] = n.ino as number;
    f[INODE.nlink] = nlink;
    f[INODE.xattr] = n.xattrs.length
      ? writer.addXattrs(
          n.xattrs.filter(([k]) => XATTR_PREFIXES.some((p) => k.startsWith(p))),
          n.path,
        )
      : NO_XATTR;
    return f;
  };
  const named = (n: TreeNode, err: unknown): Error =>
    new Error(`${(err as Error).message}: ${n.path}`, { cause: err });
  let blockScratch = new Uint32Array(64);
  const writeLeaf = (n: TreeNode): number => {
    if (n.kind === 'dir') throw new Error(`internal: directory as leaf ${n.path}`);
    const fields = base(n, TYPE_BITS[n.kind] | n.perm, n.links ?? 1);
    if (n.kind === 'file') {
      const d = (n.linkData ?? n).data;
      fields[INODE.size] = n.size ?? 0;
      fields[INODE.start] = d?.start ?? 0;
      fields[INODE.fragIndex] = d?.fragIndex ?? NO_FRAGMENT;
      fields[INODE.fragOffset] = d?.fragOffset ?? 0;
      fields[INODE.sparse] = d?.sparse ?? 0;
      let blocks = NO_BLOCKS;
      if (d?.blocks.length) {
        // The writer copies the sizes into the inode; one buffer serves every file.
        if (blockScratch.length < d.blocks.length) blockScratch = new Uint32Array(d.blocks.length * 2);
        blockScratch.set(d.blocks);
        blocks = blockScratch.subarray(0, d.blocks.length);
      }
      try {
        return writer.writeInode(fields, blocks);
      } catch (err) {
        throw named(n, err);
      }
    }
    fields[INODE.devno] = n.devno ?? 0;
    try {
      return writer.writeInode(fields, n.target);
    } catch (err) {
      throw named(n, err);
    }
  };
  const visit = (dir: TreeNode, parent: number): number => {
    const kids = sorted(dir);
    let subdirs = 0;
    for (const c of kids) {
      if (c.kind === 'dir') {
        c.ref = visit(c, dir.ino as number);
        subdirs++;
      } else {
        const o = owner(c);
        if (o.ref === undefined) o.ref = writeLeaf(o);
      }
    }
    writer.beginDir();
    for (const c of kids) {
      const o = owner(c);
      writer.addEntry(c.name, o.ino as number, o.ref as number, TYPE_BITS[o.kind] | o.perm);
    }
    const fields = base(dir, TYPE_BITS.dir | dir.perm, 2 + subdirs);
    fields[INODE.parent] = parent;
    try {
      return writer.endDir(fields);
    } catch (err) {
      throw named(dir, err);
    }
  };
  root.ref = visit(root, count + 1);
  writer.finish({ rootRef: root.ref, rootIno: root.ino as number, inodeCount: count });
  return count;
}
