/**
 * Feeds a directory source to the pipeline while the walk goes on, and finds files that are copies of earlier
 * ones by hashing them in the pool (nothing is read on the main thread).
 */
import type { Piscina } from 'piscina';
import type { Deadlines } from './deadline.js';
import type { DirectoryWalker, WalkedFile } from './dir-source.js';
import { Feeder } from './feeder.js';
import type { ResolvedOptions } from './options.js';
import type { DataPipeline, FileRef } from './pipeline.js';
import { displayPath, type HashTask, joinPaths } from './protocol.js';
import type { TreeNode } from './tree.js';

/** Bytes per hashing task. */
const HASH_TASK_BYTES = 4 << 20;
const HASH_TASK_ITEMS = 256;

/** Files the walk hands over at a time: enough to keep the pool busy, few enough to start it early. */
const WALK_SLICE = 64;

/**
 * Feeds files while the walk goes on, so the workers compress from the first directories on. A file whose size
 * an earlier file has may be a copy: it waits for the end of the walk, meanwhile it and that earlier file are
 * hashed in the pool, and a copy then points at the earlier file's data instead of being written again. The
 * rest go in walk order, so neighbours share fragment blocks as they do in mksquashfs' images (the order is
 * worth over 1% of size at gzip). Which files wait depends only on the tree, so the image does too.
 * Runs of blocks repeated from other files are found later, by the pipeline (see written-runs.ts): hashing
 * every block before compressing would cost more than it saves (9 of ~4,000 full blocks on the Debian root).
 * @param walked called when the walk is done, with the bytes of all files.
 * @returns how many files were copies.
 */
export async function feedDirectory(
  pool: Piscina,
  pipeline: DataPipeline,
  walker: DirectoryWalker,
  rootLength: number,
  o: ResolvedOptions,
  walked: (bytes: number) => void,
): Promise<number> {
  const bs = o.cfg.blockSize;
  const firstOfSize = new Map<number, WalkedFile | undefined>();
  const waiting: WalkedFile[] = [];
  /** First files of a size that turned out to have twins (hashed, written already). */
  const twinned: WalkedFile[] = [];
  const hashes = new HashBatches(pool, rootLength, pipeline.deadlines);
  let bytes = 0;
  const feeder = new Feeder<WalkedFile>((f) => feedFile(pipeline, f, bs));
  const slice: WalkedFile[] = [];
  try {
    while (!walker.done) {
      slice.length = 0;
      walker.next(slice, WALK_SLICE);
      for (const f of slice) {
        const size = f.node.size ?? 0;
        bytes += size;
        if (size === 0) continue;
        if (!firstOfSize.has(size)) {
          firstOfSize.set(size, f);
          feeder.push(f);
          continue;
        }
        // The first of this size is hashed once, when its first twin shows up.
        const first = firstOfSize.get(size);
        if (first) {
          hashes.add(first);
          twinned.push(first);
          firstOfSize.set(size, undefined);
        }
        hashes.add(f);
        waiting.push(f);
      }
      feeder.check();
      // Worker results and the feeder get their turn between slices.
      await new Promise(setImmediate);
    }
  } catch (err) {
    feeder.stop();
    throw err;
  }
  walked(bytes);
  feeder.end();
  await feeder.done;

  const hashOf = await hashes.all();
  const firstBy = new Map<string, TreeNode>();
  const keyOf = (f: WalkedFile) => `${f.node.size}:${hashOf.get(f)}`;
  // Earlier files come first, so a copy always points back at the file written before it.
  for (const f of twinned) firstBy.set(keyOf(f), f.node);
  let copies = 0;
  for (const f of waiting) {
    const key = keyOf(f);
    const first = firstBy.get(key);
    if (first) {
      f.node.linkData = first;
      copies++;
      pipeline.progressOnly(f.node.size ?? 0);
      continue;
    }
    firstBy.set(key, f.node);
    const wait = feedFile(pipeline, f, bs);
    if (wait) await wait;
  }
  return copies;
}

/** Content hashes computed in the pool, in batches submitted as they fill. */
class HashBatches {
  private readonly batches: { files: WalkedFile[]; hashes: Promise<string[]> }[] = [];
  private cur: WalkedFile[] = [];
  private bytes = 0;

  constructor(
    private readonly pool: Piscina,
    private readonly rootLength: number,
    private readonly deadlines: Deadlines,
  ) {}

  add(f: WalkedFile): void {
    this.cur.push(f);
    this.bytes += f.node.size ?? 0;
    if (this.bytes >= HASH_TASK_BYTES || this.cur.length >= HASH_TASK_ITEMS) this.submit();
  }

  /** Sends the batch being filled. */
  submit(): void {
    const files = this.cur;
    if (!files.length) return;
    this.cur = [];
    this.bytes = 0;
    const stalled = () =>
      new Error(
        `hashing worker stalled: a batch starting at ${displayPath((files[0] as WalkedFile).source, this.rootLength)} did not finish within ${Math.round(this.deadlines.ms / 1000)} s`,
      );
    const task: HashTask = {
      op: 'hash',
      paths: joinPaths(files.map((f) => f.source)),
      sizes: Float64Array.from(files, (f) => f.node.size ?? 0),
      rootLength: this.rootLength,
    };
    const hashes = this.deadlines.run(this.pool.run(task) as Promise<string[]>, stalled);
    // Handled here; `all` still sees the failure.
    hashes.catch(() => {});
    this.batches.push({ files, hashes });
  }

  /** Every file's hash, in the order the files were added. */
  async all(): Promise<Map<WalkedFile, string>> {
    this.submit();
    const out = new Map<WalkedFile, string>();
    for (const b of this.batches) {
      const hashes = await b.hashes;
      b.files.forEach((f, i) => {
        out.set(f, hashes[i] as string);
      });
    }
    return out;
  }
}

/**
 * Hands a file's full blocks and tail to the pipeline; the workers read the bytes. Returns a promise only when
 * the pipeline is full: most files fit in one step and need no await.
 */
function feedFile(pipeline: DataPipeline, f: WalkedFile, blockSize: number): Promise<void> | undefined {
  const size = f.node.size ?? 0;
  const file = { path: f.source, fileSize: size };
  const full = size - (size % blockSize);
  if (full > pipeline.chunk) return feedLargeFile(pipeline, f.node, file, full);
  if (full > 0) pipeline.fileBlocks(f.node, file, 0, full, true);
  if (full < size) pipeline.fileTail(f.node, file, full, size - full);
  return pipeline.settle();
}

async function feedLargeFile(
  pipeline: DataPipeline,
  node: TreeNode,
  file: FileRef,
  full: number,
): Promise<void> {
  for (let off = 0; off < full; off += pipeline.chunk) {
    pipeline.fileBlocks(node, file, off, Math.min(pipeline.chunk, full - off), off === 0);
    await pipeline.settle();
  }
  if (full < file.fileSize) pipeline.fileTail(node, file, full, file.fileSize - full);
  await pipeline.settle();
}
