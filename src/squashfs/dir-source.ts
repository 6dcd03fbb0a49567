/** Directory source: walks a tree with lstat/readlink/xattrs. File data is read later, by the workers. */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { native } from './native.js';
import { encodeDev, isExcluded, kindFromMode, newDir, type TreeNode } from './tree.js';

export interface WalkOptions {
  excludes: ReadonlySet<string>;
  noXattrs: boolean;
}

export interface WalkedFile {
  node: TreeNode;
  /** Raw path bytes on disk. */
  source: Buffer;
}

export interface WalkResult {
  root: TreeNode;
  /** Regular files owning their inode, in image order (sorted depth-first). */
  files: WalkedFile[];
  entries: number;
}

const SLASH = Buffer.from('/');

function statError(display: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const what = code === 'ENOENT' ? 'input entry vanished' : `cannot read input entry (${code})`;
  return Object.assign(new Error(`${what}: ${display}`, { cause: err }), { path: display });
}

/**
 * Walks `dir` in sorted order (byte order of names, as SquashFS directories need).
 * @throws Error naming the entry when one vanishes or cannot be read.
 */
export function walkDirectory(dir: string, opts: WalkOptions): WalkResult {
  const rootSrc = Buffer.from(dir);
  const root = newDir(Buffer.alloc(0), '/');
  const files: WalkedFile[] = [];
  const inodes = new Map<string, TreeNode>();
  let entries = 1;

  const fill = (node: TreeNode, st: Stats, src: Buffer, display: string): void => {
    node.perm = st.mode & 0o7777;
    node.uid = st.uid;
    node.gid = st.gid;
    node.mtime = Math.floor(st.mtimeMs / 1000);
    if (!opts.noXattrs) {
      try {
        node.xattrs = native().readXattrs(src);
      } catch (err) {
        throw statError(display, err);
      }
    }
  };

  const visit = (node: TreeNode, src: Buffer, rel: string): void => {
    let names: Buffer[];
    try {
      names = readdirSync(src, { encoding: 'buffer' });
    } catch (err) {
      throw statError(node.path, err);
    }
    names.sort(Buffer.compare);
    for (const name of names) {
      const childRel = rel ? `${rel}/${name.toString()}` : name.toString();
      if (isExcluded(childRel, opts.excludes)) continue;
      const childSrc = Buffer.concat([src, SLASH, name]);
      const display = `/${childRel}`;
      let st: Stats;
      try {
        st = lstatSync(childSrc);
      } catch (err) {
        throw statError(display, err);
      }
      const kind = kindFromMode(st.mode);
      if (!kind) continue;
      const child: TreeNode = { name, path: display, kind, perm: 0, uid: 0, gid: 0, mtime: 0, xattrs: [] };
      node.children?.set(name.toString('latin1'), child);
      entries++;
      if (kind !== 'dir' && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first) {
          child.linkTo = first;
          first.links = (first.links ?? 1) + 1;
          continue;
        }
        inodes.set(key, child);
      }
      fill(child, st, childSrc, display);
      if (kind === 'dir') {
        child.children = new Map();
        visit(child, childSrc, childRel);
      } else if (kind === 'file') {
        child.size = st.size;
        files.push({ node: child, source: childSrc });
      } else if (kind === 'symlink') {
        try {
          child.target = readlinkSync(childSrc, { encoding: 'buffer' });
        } catch (err) {
          throw statError(display, err);
        }
      } else if (kind === 'chr' || kind === 'blk') {
        child.devno = encodeDev(
          Math.floor(st.rdev / 256) & 0xfff,
          (st.rdev & 0xff) | ((st.rdev >>> 12) & ~0xff),
        );
      }
    }
  };

  let st: Stats;
  try {
    st = lstatSync(rootSrc);
  } catch (err) {
    throw statError(dir, err);
  }
  if (!st.isDirectory()) throw Object.assign(new Error(`source is not a directory: ${dir}`), { path: dir });
  fill(root, st, rootSrc, '/');
  visit(root, rootSrc, '');
  return { root, files, entries };
}
