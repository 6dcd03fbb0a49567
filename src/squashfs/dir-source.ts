/** Directory source: walks a tree (names, lstat facts, link targets, xattrs). File data is read later, by the workers. */
import { lstatSync, type Stats } from 'node:fs';
import { native, SCAN, type ScannedDir } from './native.js';
import { encodeDev, isExcluded, kindFromMode, NO_XATTRS, newDir, type TreeNode } from './tree.js';

export interface WalkOptions {
  excludes: ReadonlySet<string>;
  noXattrs: boolean;
  /**
   * Files left out by identity ("dev:ino"): the image being written and its temp file when the output lies inside
   * the source. Identity, not path, so a symlinked or `..`-spelt source path cannot let them in.
   */
  skipFiles?: ReadonlySet<string>;
}

export interface WalkedFile {
  node: TreeNode;
  /** Raw path bytes on disk as latin1 (what the workers and the native calls take). */
  source: string;
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

/** A directory being walked: its scan and how far through its entries the walk is. */
interface Frame {
  node: TreeNode;
  src: string;
  scan: ScannedDir;
  xattrs: Map<number, [string, Buffer][]> | undefined;
  next: number;
}

/**
 * Walks a directory tree in sorted order (byte order of names, as SquashFS directories need), one native scan
 * per directory, a slice at a time: the caller feeds the files found so far while the walk goes on.
 */
export class DirectoryWalker {
  readonly root: TreeNode;
  /** Entries found so far (the root included). */
  entries = 1;
  private readonly stack: Frame[] = [];
  private readonly inodes = new Map<string, TreeNode>();
  private readonly scanDir = native().scanDir;

  /** @throws Error naming the source when it is missing or not a directory. */
  constructor(
    dir: string,
    private readonly opts: WalkOptions,
  ) {
    this.root = newDir(Buffer.alloc(0), '/');
    let st: Stats;
    try {
      st = lstatSync(dir);
    } catch (err) {
      throw statError(dir, err);
    }
    if (!st.isDirectory()) throw Object.assign(new Error(`source is not a directory: ${dir}`), { path: dir });
    const root = this.root;
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
    this.enter(root, Buffer.from(dir).toString('latin1'));
  }

  get done(): boolean {
    return this.stack.length === 0;
  }

  /**
   * Walks on until `files` holds at least `want` regular files that own their inode (in image order), or the
   * tree ends.
   * @throws Error naming the entry when one vanishes or cannot be read.
   */
  next(files: WalkedFile[], want: number): void {
    const { excludes } = this.opts;
    while (files.length < want) {
      const frame = this.stack[this.stack.length - 1];
      if (!frame) return;
      const { node, src, scan } = frame;
      const { names, ends, stats, targets } = scan;
      if (frame.next >= ends.length) {
        this.stack.pop();
        continue;
      }
      const i = frame.next++;
      const name = names.subarray(i === 0 ? 0 : ends[i - 1], ends[i]);
      const path = node === this.root ? `/${name.toString()}` : `${node.path}/${name.toString()}`;
      if (excludes.size && isExcluded(path.slice(1), excludes)) continue;
      const at = i * SCAN.words;
      const mode = stats[at + SCAN.mode] as number;
      const kind = kindFromMode(mode);
      if (!kind) continue;
      if (kind === 'file' && this.opts.skipFiles?.has(`${stats[at + SCAN.dev]}:${stats[at + SCAN.ino]}`))
        continue;
      const child: TreeNode = {
        name,
        path,
        kind,
        perm: mode & 0o7777,
        uid: stats[at + SCAN.uid] as number,
        gid: stats[at + SCAN.gid] as number,
        mtime: stats[at + SCAN.mtime] as number,
        xattrs: frame.xattrs?.get(i) ?? NO_XATTRS,
      };
      const key = name.toString('latin1');
      node.children?.set(key, child);
      this.entries++;
      if (kind !== 'dir' && (stats[at + SCAN.nlink] as number) > 1) {
        const inode = `${stats[at + SCAN.dev]}:${stats[at + SCAN.ino]}`;
        const first = this.inodes.get(inode);
        if (first) {
          child.linkTo = first;
          first.links = (first.links ?? 1) + 1;
          continue;
        }
        this.inodes.set(inode, child);
      }
      if (kind === 'dir') {
        child.children = new Map();
        this.enter(child, `${src}/${key}`);
      } else if (kind === 'file') {
        child.size = stats[at + SCAN.size] as number;
        files.push({ node: child, source: `${src}/${key}` });
      } else if (kind === 'symlink') {
        child.target = targets[i] ?? Buffer.alloc(0);
      } else if (kind === 'chr' || kind === 'blk') {
        child.devno = encodeDev(stats[at + SCAN.rdevMajor] as number, stats[at + SCAN.rdevMinor] as number);
      }
    }
  }

  private enter(node: TreeNode, src: string): void {
    let scan: ScannedDir;
    try {
      scan = this.scanDir(src, !this.opts.noXattrs);
    } catch (err) {
      throw statError(failedEntry(err, src, node.path), err);
    }
    this.stack.push({
      node,
      src,
      scan,
      xattrs: scan.xattrs.length ? new Map(scan.xattrs) : undefined,
      next: 0,
    });
  }
}
