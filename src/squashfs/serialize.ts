/** Writes inodes and directories in post-order (children before their directory; the root last). */
import type { NativeSquashWriter } from './native.js';
import { type TreeNode, TYPE_BITS } from './tree.js';

export interface SerializeOptions {
  /** Replaces every inode time (SOURCE_DATE_EPOCH). */
  mtime?: number;
  allRoot: boolean;
}

// SquashFS can only store these xattr namespaces.
const XATTR_PREFIXES = ['user.', 'trusted.', 'security.'];

const NO_XATTR = 0xffffffff;

const owner = (n: TreeNode): TreeNode => n.linkTo ?? n;

function sorted(dir: TreeNode): TreeNode[] {
  return [...(dir.children?.values() ?? [])].sort((a, b) => Buffer.compare(a.name, b.name));
}

/** Assigns inode numbers 1..N in write order; returns N. */
function number(root: TreeNode): number {
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

export function serializeTree(writer: NativeSquashWriter, root: TreeNode, opts: SerializeOptions): number {
  const count = number(root);
  const base = (n: TreeNode) => ({
    path: n.path,
    uid: opts.allRoot ? 0 : n.uid,
    gid: opts.allRoot ? 0 : n.gid,
    mtime: opts.mtime ?? n.mtime,
    ino: n.ino as number,
    xattr: n.xattrs.length
      ? writer.addXattrs(
          n.xattrs.filter(([k]) => XATTR_PREFIXES.some((p) => k.startsWith(p))),
          n.path,
        )
      : NO_XATTR,
  });
  const writeLeaf = (n: TreeNode): number => {
    const common = { ...base(n), mode: TYPE_BITS[n.kind] | n.perm, nlink: n.links ?? 1 };
    if (n.kind === 'file') {
      const d = (n.linkData ?? n).data;
      return writer.writeInode({
        ...common,
        kind: 'file',
        size: n.size ?? 0,
        start: d?.start ?? 0,
        blocks: Uint32Array.from(d?.blocks ?? []),
        fragIndex: d?.fragIndex ?? 0xffffffff,
        fragOffset: d?.fragOffset ?? 0,
        sparse: d?.sparse ?? 0,
      });
    }
    if (n.kind === 'dir') throw new Error(`internal: directory as leaf ${n.path}`);
    return writer.writeInode({ ...common, kind: n.kind, target: n.target, devno: n.devno ?? 0 });
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
    return writer.endDir({ ...base(dir), mode: TYPE_BITS.dir | dir.perm, nlink: 2 + subdirs, parent });
  };
  root.ref = visit(root, count + 1);
  writer.finish({ rootRef: root.ref, rootIno: root.ino as number, inodeCount: count });
  return count;
}
