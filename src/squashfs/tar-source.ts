/**
 * Tar source (as `docker export` writes it): builds the tree from headers and feeds file bytes to the pipeline in
 * archive order, batched into transferred buffers. Files up to one batch are deduplicated by content hash before
 * they are sent for compression.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ResolvedOptions } from './options.js';
import type { DataPipeline } from './pipeline.js';
import { MAX_CARRIED_RUN } from './pipeline-sizing.js';
import { entryPath, headerProblem } from './tar-checks.js';
import { ByteReader, TarFormatError, type TarHeader, TarReader } from './tar-reader.js';
import { encodeDev, isExcluded, type NodeKind, newDir, type TreeNode } from './tree.js';

const XATTR_PAX = 'SCHILY.xattr.';

const KINDS: Record<string, NodeKind> = {
  '0': 'file',
  '7': 'file',
  '2': 'symlink',
  '3': 'chr',
  '4': 'blk',
  '5': 'dir',
  '6': 'fifo',
};

export interface TarTree {
  root: TreeNode;
  entries: number;
  duplicateFiles: number;
}

type Meta = Pick<TreeNode, 'perm' | 'uid' | 'gid' | 'mtime' | 'xattrs'>;

/** One archive read into a tree: the tree so far, the content seen (for deduplication) and the counts. */
class TarTreeBuilder {
  readonly root = newDir(Buffer.alloc(0), '/');
  entries = 1;
  duplicateFiles = 0;
  private readonly seen = new Map<string, TreeNode>();
  private readonly bs: number;

  constructor(
    private readonly tar: TarReader,
    private readonly pipeline: DataPipeline,
    private readonly o: ResolvedOptions,
  ) {
    this.bs = o.cfg.blockSize;
  }

  error(path: string, what: string): TarFormatError {
    return new TarFormatError(what, this.tar.ordinal, this.tar.offset, path);
  }

  private readInto(dst: Uint8Array): Promise<Uint8Array> {
    return this.tar.readData(dst);
  }

  /** The node at `rel`; with `create`, missing directories on the way are made. */
  lookup(rel: string, create: boolean): TreeNode | undefined {
    let node = this.root;
    if (rel === '') return node;
    let path = '';
    for (const part of rel.split('/')) {
      path += `/${Buffer.from(part, 'latin1').toString()}`;
      let child = node.children?.get(part);
      if (!child) {
        if (!create) return undefined;
        child = newDir(Buffer.from(part, 'latin1'), path);
        child.mtime = this.o.inodeTime ?? 0;
        node.children?.set(part, child);
        this.entries++;
      }
      if (child.kind !== 'dir' && create) throw this.error(path, 'a path component is not a directory');
      node = child;
    }
    return node;
  }

  /** Files up to a carried run are hashed in memory and deduplicated before they are compressed. */
  private async readSmall(node: TreeNode, size: number, full: number, tail: number): Promise<void> {
    const { pipeline } = this;
    // The whole file is in hand before it is committed, so a duplicate is dropped before compression.
    const h = createHash('sha256');
    if (full > 0) h.update(await this.readInto(await pipeline.reserveBlocks(full)));
    if (tail > 0) h.update(await this.readInto(pipeline.reserveTail(tail)));
    const key = `${size}:${h.digest('hex')}`;
    const first = this.seen.get(key);
    if (first) {
      node.linkData = first;
      this.duplicateFiles++;
      pipeline.progressOnly(size);
      return;
    }
    this.seen.set(key, node);
    if (full > 0) pipeline.commitBlocks(node, full, true);
    if (tail > 0) pipeline.commitTail(node, tail);
    await pipeline.settle();
  }

  async readData(node: TreeNode, size: number): Promise<void> {
    const { pipeline } = this;
    const full = size - (size % this.bs);
    const tail = size - full;
    if (size <= MAX_CARRIED_RUN) return this.readSmall(node, size, full, tail);
    for (let off = 0; off < full; off += pipeline.chunk) {
      const length = Math.min(pipeline.chunk, full - off);
      await this.readInto(await pipeline.reserveBlocks(length));
      pipeline.commitBlocks(node, length, off === 0);
      await pipeline.settle();
    }
    if (tail > 0) {
      await this.readInto(pipeline.reserveTail(tail));
      pipeline.commitTail(node, tail);
      await pipeline.settle();
    }
  }

  /** A hard link entry: a node sharing its target's inode. */
  hardLink(h: TarHeader, parent: TreeNode, name: string, display: string, meta: Meta): void {
    const linked = entryPath(h.linkname);
    if ('error' in linked) throw this.error(display, `hard link target: ${linked.error}`);
    const target = this.lookup(linked.rel, false);
    if (!target || target.kind === 'dir')
      throw this.error(display, `hard link target not found: ${h.linkname.toString()}`);
    const owner = target.linkTo ?? target;
    owner.links = (owner.links ?? 1) + 1;
    const node: TreeNode = {
      ...meta,
      name: Buffer.from(name, 'latin1'),
      path: display,
      kind: owner.kind,
      linkTo: owner,
    };
    this.entries++;
    parent.children?.set(name, node);
  }

  /** One header and its data, after the entry's path and header were checked. */
  async entry(h: TarHeader, rel: string, display: string): Promise<void> {
    const xattrs: [string, Buffer][] = [];
    if (!this.o.noXattrs) {
      for (const [k, v] of h.pax) if (k.startsWith(XATTR_PAX)) xattrs.push([k.slice(XATTR_PAX.length), v]);
    }
    const slash = rel.lastIndexOf('/');
    const parent = this.lookup(slash < 0 ? '' : rel.slice(0, slash), true) as TreeNode;
    const name = rel.slice(slash + 1);
    const meta: Meta = { perm: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: h.mtime, xattrs };
    if (parent.children?.has(name) && !(h.type === '5' && parent.children.get(name)?.kind === 'dir'))
      throw this.error(display, 'duplicate entry (an earlier entry has this name)');
    if (h.type === '1') return this.hardLink(h, parent, name, display, meta);
    const kind = KINDS[h.type];
    if (!kind) throw this.error(display, `unsupported entry type '${h.type}'`);
    if (rel === '') {
      if (kind !== 'dir') throw this.error(display, 'the archive root is not a directory');
      Object.assign(this.root, meta);
      return;
    }
    const existing = parent.children?.get(name);
    if (kind === 'dir' && existing?.kind === 'dir') {
      Object.assign(existing, meta);
      return;
    }
    const node: TreeNode = { ...meta, name: Buffer.from(name, 'latin1'), path: display, kind };
    this.entries++;
    parent.children?.set(name, node);
    if (kind === 'dir') node.children = new Map();
    else if (kind === 'symlink') node.target = Buffer.from(h.linkname);
    else if (kind === 'chr' || kind === 'blk') node.devno = encodeDev(h.devmajor, h.devminor);
    else if (kind === 'file') {
      node.size = h.size;
      if (h.size > 0) await this.readData(node, h.size);
    }
    await this.tar.endEntry();
  }
}

/**
 * Reads the whole archive, up to its end-of-archive marker.
 *
 * Entries are checked before they become inodes ({@link entryPath}, {@link headerProblem}). A name may appear
 * once: a later entry for a directory that exists updates its metadata (tar writers repeat directories), any
 * other repeated name is refused rather than resolved "later wins" as tar extraction does, because an earlier
 * entry may already be a hard link's target or hold data in the pipeline.
 * @throws TarFormatError naming the entry (ordinal, header offset) for a malformed, truncated or unterminated
 *   archive, a name or number SquashFS cannot hold, a duplicate, a path under a non-directory, an unsupported
 *   type or a dangling hard link; Error when the stream stalls.
 */
export async function readTarTree(
  stream: Readable,
  pipeline: DataPipeline,
  o: ResolvedOptions,
  signal: AbortSignal,
): Promise<TarTree> {
  const onAbort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  const tar = new TarReader(new ByteReader(stream, o.stallTimeoutMs));
  const b = new TarTreeBuilder(tar, pipeline, o);
  try {
    for (;;) {
      signal.throwIfAborted();
      const h: TarHeader | null = await tar.next();
      if (!h) break;
      const checked = entryPath(h.name);
      if ('error' in checked) throw b.error(h.name.toString(), checked.error);
      const rel = checked.rel;
      const problem = headerProblem(h);
      if (problem) throw b.error(`/${Buffer.from(rel, 'latin1').toString()}`, problem);
      const relUtf8 = Buffer.from(rel, 'latin1').toString();
      if (rel !== '' && isExcluded(relUtf8, o.excludes)) {
        await tar.skipData(h.size);
        await tar.endEntry();
        continue;
      }
      await b.entry(h, rel, `/${relUtf8}`);
    }
    return { root: b.root, entries: b.entries, duplicateFiles: b.duplicateFiles };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
