/** Directory source: walks a tree (names, lstat facts, link targets, xattrs). File data is read later, by the workers. */
import { lstatSync, type Stats } from 'node:fs';
import { native, SCAN, type ScannedDir } from './native.js';
import { encodeDev, isExcluded, kindFromMode, newDir, type TreeNode } from './tree.js';

export interface WalkOptions {
  excludes: ReadonlySet<string>;
  noXattrs: boolean;
}

export interface WalkedFile {
  node: TreeNode;
  /** Raw path bytes on disk as latin1 (what the workers and the native calls take). */
  source: string;
}

export interface WalkResult {
  root: TreeNode;
  /** Regular files owning their inode, in image order (sorted depth-first). */
  files: WalkedFile[];
  entries: number;
}

function statError(display: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const what = code === 'ENOENT' ? 'input entry vanished' : `cannot read input entry (${code})`;
  return Object.assign(new Error(`${what}: ${display}`, { cause: err }), { path: display });
}

/** The display path of the entry a scan error names (its on-disk path is under `src`). */
function failedEntry(err: unknown, src: string, display: string): string {
  const path = (err as { path?: string }).path;
  const dir = Buffer.from(src, 'latin1').toString();
  if (!path?.startsWith(`${dir}/`)) return display;
  return `${display === '/' ? '' : display}/${path.slice(dir.length + 1)}`;
}

/**
 * Walks `dir` in sorted order (byte order of names, as SquashFS directories need), one native scan per
 * directory.
 * @throws Error naming the entry when one vanishes or cannot be read.
 */
export function walkDirectory(dir: string, opts: WalkOptions): WalkResult {
  const rootSrc = Buffer.from(dir).toString('latin1');
  const root = newDir(Buffer.alloc(0), '/');
  const files: WalkedFile[] = [];
  const inodes = new Map<string, TreeNode>();
  const scanDir = native().scanDir;
  let entries = 1;

  const visit = (node: TreeNode, src: string, rel: string): void => {
    let scan: ScannedDir;
    try {
      scan = scanDir(src, !opts.noXattrs);
    } catch (err) {
      throw statError(failedEntry(err, src, node.path), err);
    }
    const { names, ends, stats, targets } = scan;
    const xattrsOf = new Map(scan.xattrs);
    for (let i = 0, from = 0; i < ends.length; from = ends[i] as number, i++) {
      const name = names.subarray(from, ends[i]);
      const childRel = rel ? `${rel}/${name.toString()}` : name.toString();
      if (isExcluded(childRel, opts.excludes)) continue;
      const at = i * SCAN.words;
      const mode = stats[at + SCAN.mode] as number;
      const kind = kindFromMode(mode);
      if (!kind) continue;
      const display = `/${childRel}`;
      const child: TreeNode = {
        name,
        path: display,
        kind,
        perm: mode & 0o7777,
        uid: stats[at + SCAN.uid] as number,
        gid: stats[at + SCAN.gid] as number,
        mtime: stats[at + SCAN.mtime] as number,
        xattrs: xattrsOf.get(i) ?? [],
      };
      node.children?.set(name.toString('latin1'), child);
      entries++;
      if (kind !== 'dir' && (stats[at + SCAN.nlink] as number) > 1) {
        const key = `${stats[at + SCAN.dev]}:${stats[at + SCAN.ino]}`;
        const first = inodes.get(key);
        if (first) {
          child.linkTo = first;
          first.links = (first.links ?? 1) + 1;
          continue;
        }
        inodes.set(key, child);
      }
      if (kind === 'dir') {
        child.children = new Map();
        visit(child, `${src}/${name.toString('latin1')}`, childRel);
      } else if (kind === 'file') {
        child.size = stats[at + SCAN.size] as number;
        files.push({ node: child, source: `${src}/${name.toString('latin1')}` });
      } else if (kind === 'symlink') {
        child.target = targets[i] ?? Buffer.alloc(0);
      } else if (kind === 'chr' || kind === 'blk') {
        child.devno = encodeDev(stats[at + SCAN.rdevMajor] as number, stats[at + SCAN.rdevMinor] as number);
      }
    }
  };

  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw statError(dir, err);
  }
  if (!st.isDirectory()) throw Object.assign(new Error(`source is not a directory: ${dir}`), { path: dir });
  root.perm = st.mode & 0o7777;
  root.uid = st.uid;
  root.gid = st.gid;
  root.mtime = Math.floor(st.mtimeMs / 1000);
  if (!opts.noXattrs) {
    try {
      root.xattrs = native().readXattrs(Buffer.from(dir));
    } catch (err) {
      throw statError(dir, err);
    }
  }
  visit(root, rootSrc, '');
  return { root, files, entries };
}
