/** The in-memory tree the sources build: metadata only, file data stays on disk or flows through the pipeline. */

export type NodeKind = 'dir' | 'file' | 'symlink' | 'chr' | 'blk' | 'fifo' | 'sock';

/** Where a file's bytes ended up in the image. */
export interface FileData {
  start: number;
  blocks: number[];
  fragIndex: number;
  fragOffset: number;
  sparse: number;
}

export interface TreeNode {
  name: Buffer;
  /** Path inside the image, for messages ("/usr/bin/foo"). */
  path: string;
  kind: NodeKind;
  /** Permission bits including setuid/setgid/sticky (no file-type bits). */
  perm: number;
  uid: number;
  gid: number;
  mtime: number;
  xattrs: readonly (readonly [string, Buffer])[];
  children?: Map<string, TreeNode>;
  target?: Buffer;
  /** Device number as the kernel encodes it (major/minor split). */
  devno?: number;
  size?: number;
  data?: FileData;
  /** Same content as this earlier file: its data blocks are shared, not written again. */
  linkData?: TreeNode;
  /** Hard link: the node whose inode this entry shares. */
  linkTo?: TreeNode;
  /** Set on the node owning an inode: how many entries point at it. */
  links?: number;
  ino?: number;
  ref?: number;
}

/** The xattrs of every entry that has none (shared: a tree has tens of thousands of such entries). */
export const NO_XATTRS: TreeNode['xattrs'] = Object.freeze([]);

export const S_IFMT = 0o170000;
export const TYPE_BITS: Record<NodeKind, number> = {
  dir: 0o040000,
  file: 0o100000,
  symlink: 0o120000,
  chr: 0o020000,
  blk: 0o060000,
  fifo: 0o010000,
  sock: 0o140000,
};

export function kindFromMode(mode: number): NodeKind | undefined {
  switch (mode & S_IFMT) {
    case 0o040000:
      return 'dir';
    case 0o100000:
      return 'file';
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'chr';
    case 0o060000:
      return 'blk';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'sock';
    default:
      return undefined;
  }
}

/** Linux's new_encode_dev, which is what SquashFS stores. */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

export function newDir(name: Buffer, path: string): TreeNode {
  return {
    name,
    path,
    kind: 'dir',
    perm: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
    xattrs: NO_XATTRS,
    children: new Map(),
  };
}

export function isExcluded(rel: string, excludes: ReadonlySet<string>): boolean {
  if (excludes.size === 0) return false;
  let at = rel.length;
  for (;;) {
    if (excludes.has(rel.slice(0, at))) return true;
    at = rel.lastIndexOf('/', at - 1);
    if (at <= 0) return false;
  }
}
