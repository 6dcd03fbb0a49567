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
import { MAX_CARRIED_RUN } from './pipeline-sizing.js';
import { displayPath, type HashTask, joinPaths } from './protocol.js';
import type { TreeNode } from './tree.js';

/** Bytes per hashing task. */
const HASH_TASK_BYTES = 4 << 20;
const HASH_TASK_ITEMS = 256;

/** Files the walk hands over at a time: enough to keep the pool busy, few enough to start it early. */
const WALK_SLICE = 64;

/** A walked file on its way to the pipeline; `twinOf`: the first file of its size, so it may be a copy. */
interface Queued {
  file: WalkedFile;
  twinOf?: WalkedFile;
}

/**
 * Feeds files in walk order while the walk goes on, so the workers compress from the first directories on and
 * neighbours share fragment blocks as they do in mksquashfs' images (the order is worth over 1% of size at
 * gzip). The copy rule is the tar source's, so a tree gives the same image from a directory as from a tar in
 * walk order: a file up to {@link MAX_CARRIED_RUN} with the bytes of an earlier one points at that file's data.
 * Only a file whose size an earlier file has can be a copy; it and that first file are hashed in the pool as soon
 * as the walk finds them, and the feed waits for the hashes when it reaches the file. Runs of blocks repeated
 * from other files are found later, by the pipeline (see written-runs.ts).
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
  const firstOfSize = new Map<number, WalkedFile>();
  const hashes = new HashBatches(pool, rootLength, pipeline.deadlines);
  const firstBy = new Map<string, TreeNode>();
  const known = new Set<WalkedFile>();
  let copies = 0;
  const keyOf = async (f: WalkedFile) => `${f.node.size}:${await hashes.of(f)}`;
  const feedTwin = async ({ file, twinOf }: Required<Queued>): Promise<void> => {
    // The first of a size was fed without a hash; it joins the table when its first twin comes up.
    if (!known.has(twinOf)) {
      known.add(twinOf);
      firstBy.set(await keyOf(twinOf), twinOf.node);
    }
    const key = await keyOf(file);
    const first = firstBy.get(key);
    if (first) {
      file.node.linkData = first;
      copies++;
      pipeline.progressOnly(file.node.size ?? 0);
      return;
    }
    firstBy.set(key, file.node);
    await feedFile(pipeline, file, bs);
  };
  const feeder = new Feeder<Queued>((q) =>
    q.twinOf ? feedTwin(q as Required<Queued>) : feedFile(pipeline, q.file, bs),
  );
  let bytes = 0;
  const slice: WalkedFile[] = [];
  try {
    while (!walker.done) {
      slice.length = 0;
      walker.next(slice, WALK_SLICE);
      for (const file of slice) {
        const size = file.node.size ?? 0;
        bytes += size;
        if (size === 0) continue;
        const first = size <= MAX_CARRIED_RUN ? firstOfSize.get(size) : undefined;
        if (size <= MAX_CARRIED_RUN && !first) firstOfSize.set(size, file);
        if (first) {
          hashes.add(first);
          hashes.add(file);
        }
        feeder.push(first ? { file, twinOf: first } : { file });
      }
      // Hashes go to the pool as soon as a slice is walked, so they are in hand by the time the feed gets there.
      hashes.submit();
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
  return copies;
}

/** Content hashes computed in the pool, in batches submitted as they fill (or when a hash is wanted). */
class HashBatches {
  private readonly hashes = new Map<WalkedFile, Promise<string>>();
  private cur: { file: WalkedFile; resolve: (h: string) => void; reject: (e: unknown) => void }[] = [];
  private bytes = 0;

  constructor(
    private readonly pool: Piscina,
    private readonly rootLength: number,
    private readonly deadlines: Deadlines,
  ) {}

  /** Queues a file for hashing (once). */
  add(file: WalkedFile): void {
    if (this.hashes.has(file)) return;
    const hash = new Promise<string>((resolve, reject) => {
      this.cur.push({ file, resolve, reject });
    });
    // Handled where it is awaited; a batch nobody waits for must not be an unhandled rejection.
    hash.catch(() => {});
    this.hashes.set(file, hash);
    this.bytes += file.node.size ?? 0;
    if (this.bytes >= HASH_TASK_BYTES || this.cur.length >= HASH_TASK_ITEMS) this.submit();
  }

  /** The file's hash; sends the batch it waits in. */
  of(file: WalkedFile): Promise<string> {
    const hash = this.hashes.get(file);
    if (!hash) throw new Error('internal error: hash of a file never queued');
    if (this.cur.some((c) => c.file === file)) this.submit();
    return hash;
  }

  /** Sends the batch being filled. */
  submit(): void {
    const batch = this.cur;
    if (!batch.length) return;
    this.cur = [];
    this.bytes = 0;
    const files = batch.map((c) => c.file);
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
    this.deadlines.run(this.pool.run(task) as Promise<string[]>, stalled).then(
      (hashes) => {
        batch.forEach((c, i) => {
          c.resolve(hashes[i] as string);
        });
      },
      (err: unknown) => {
        for (const c of batch) c.reject(err);
      },
    );
  }
}

/**
 * Hands a file's full blocks and tail to the pipeline; the workers read the bytes. A file up to
 * {@link MAX_CARRIED_RUN} goes in one piece, as the tar source carries it (so blocks it repeats are found the
 * same way from either source). Returns a promise only when the pipeline is full: most files need no await.
 */
function feedFile(pipeline: DataPipeline, f: WalkedFile, blockSize: number): Promise<void> | undefined {
  const size = f.node.size ?? 0;
  const file = { path: f.source, fileSize: size };
  const full = size - (size % blockSize);
  if (size > MAX_CARRIED_RUN && full > pipeline.chunk) return feedLargeFile(pipeline, f.node, file, full);
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
