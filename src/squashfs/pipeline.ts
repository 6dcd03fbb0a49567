/**
 * The block pipeline. Sources hand it full data blocks and file tails in image order; tails are packed into
 * fragment blocks right here, so which tail lands where depends only on the input. Items are grouped into tasks
 * for the worker pool and results are written strictly in submission order — data and fragment blocks
 * interleaved — so the image bytes do not depend on the number of workers or on timing.
 */
import type { Piscina } from 'piscina';
import { Deadlines } from './deadline.js';
import type { CompressorConfig, NativeSquashWriter } from './native.js';
import { chunkOf, MAX_CARRIED_RUN, resultBytes, TASK_ITEMS } from './pipeline-sizing.js';
import {
  BLOCKS,
  type CompressTask,
  displayPath,
  FRAGMENT,
  ITEM,
  joinPaths,
  PART,
  unpackResult,
} from './protocol.js';
import type { ResultSlabs } from './result-slabs.js';
import type { FileData, TreeNode } from './tree.js';
import { WriteQueue } from './write-at.js';
import { WrittenRuns } from './written-runs.js';

const NO_FRAGMENT = 0xffffffff;

export interface PipelineOptions {
  cfg: CompressorConfig;
  /** Descriptor of the image file, open for writing; data goes from `writer.dataEnd()` on. */
  dataFd: number;
  cacheDir?: string;
  /** Uncompressed bytes per task: large enough that per-task overhead vanishes, small enough to keep both cores busy to the end. */
  taskBytes: number;
  /** Bytes of the source directory's path (directory source), so workers can name files by their image path. */
  rootLength: number;
  /** Tasks allowed in flight (compressing or waiting to be written). */
  window: number;
  /** Where the workers put results: at least {@link slabsFor} slabs of {@link resultBytes} each. */
  slabs: ResultSlabs;
  signal: AbortSignal;
  taskTimeoutMs: number;
  onBytes: (n: number) => void;
}

export interface PipelineStats {
  blocksCompressed: number;
  blocksFromCache: number;
  /** Block cache entries found bad (recompressed and rewritten). */
  cacheEntriesBad: number;
  /** Block cache entries that could not be written. */
  cacheEntriesUnwritable: number;
  fragments: number;
  /** Data blocks not written because a file's whole run of blocks was in the image already. */
  blocksShared: number;
}

/** A file the workers read themselves (directory source). */
export interface FileRef {
  /** Raw path bytes on disk as latin1. */
  path: string;
  fileSize: number;
}

/** A fragment part: a file's tail, or (tar source) bytes of a buffer the fragment takes along. */
type Part = { file: FileRef; offset: number; length: number } | { bytes: Uint8Array };

type Target = { node: TreeNode; first: boolean; length: number } | { fragment: number; length: number };

interface OpenFragment {
  index: number;
  parts: Part[];
  used: number;
  /** Tail bytes carried by the main thread (tar source). */
  buf?: Uint8Array;
}

function dataOf(node: TreeNode): FileData {
  node.data ??= { start: 0, blocks: [], fragIndex: NO_FRAGMENT, fragOffset: 0, sparse: 0 };
  return node.data;
}

export class DataPipeline {
  readonly stats: PipelineStats = {
    blocksCompressed: 0,
    blocksFromCache: 0,
    cacheEntriesBad: 0,
    cacheEntriesUnwritable: 0,
    fragments: 0,
    blocksShared: 0,
  };
  private readonly inflight: Promise<void>[] = [];
  private chain: Promise<void> = Promise.resolve();
  /** The task being filled: records ({@link ITEM}) and the paths they name. */
  private items: number[] = [];
  private paths: string[] = [];
  private lastPath = '';
  private targets: Target[] = [];
  private buffers: Uint8Array[] = [];
  private pendingBytes = 0;
  /** The task's buffer for data blocks carried by the main thread (tar source). */
  private blockBuf: { bytes: Uint8Array; index: number; used: number } | undefined;
  private frag: OpenFragment = { index: 0, parts: [], used: 0 };
  /** Where a carried tail waits until it is committed. */
  private readonly tailBuf: Uint8Array;
  private fragCount = 0;
  /** Data writes, in order; the main thread only queues them. */
  private readonly writes: WriteQueue;
  private end: number;
  private readonly bs: number;
  private readonly runs: WrittenRuns;
  /** Largest run of full blocks to hand over at once: a task's worth, in whole blocks. */
  readonly chunk: number;
  /** Time limits and abort for this run's pool tasks (the directory source's hash tasks use them too). */
  readonly deadlines: Deadlines;

  constructor(
    private readonly pool: Piscina,
    private readonly writer: NativeSquashWriter,
    private readonly opts: PipelineOptions,
  ) {
    this.bs = opts.cfg.blockSize;
    this.end = writer.dataEnd();
    this.runs = new WrittenRuns(opts.dataFd);
    this.writes = new WriteQueue(opts.dataFd);
    this.deadlines = new Deadlines(opts.signal, opts.taskTimeoutMs);
    this.chunk = chunkOf(opts.taskBytes, this.bs);
    this.tailBuf = new Uint8Array(this.bs);
    if (opts.slabs.bytes < resultBytes(opts.taskBytes, this.bs))
      throw new Error('internal error: result slabs too small for a task');
  }

  /**
   * Full blocks of a file the workers read from disk; `length` is a whole number of blocks, at most `chunk` (or
   * {@link MAX_CARRIED_RUN}: a file up to that size is handed over in one piece, as the tar source carries it).
   * Call `settle` after this (and the file's tail, if any).
   */
  fileBlocks(node: TreeNode, file: FileRef, offset: number, length: number, first: boolean): void {
    if (first) dataOf(node);
    this.items.push(BLOCKS, this.pathIndex(file.path), offset, length, file.fileSize);
    this.target({ node, first, length });
  }

  /** The tail (less than a block) of a file the workers read from disk. Call `settle` after this. */
  fileTail(node: TreeNode, file: FileRef, offset: number, length: number): void {
    this.placeTail(node, length);
    this.frag.parts.push({ file, offset, length });
    this.frag.used += length;
  }

  /**
   * Room for `length` bytes of full blocks carried by the main thread (at most `taskBytes`); fill it, then
   * `commitBlocks` or drop it by not committing.
   */
  async reserveBlocks(length: number): Promise<Uint8Array> {
    if (length > Math.max(this.chunk, MAX_CARRIED_RUN))
      throw new Error('internal error: carried run too long');
    const b = this.blockBuf;
    if (b && b.used + length > b.bytes.length) await this.flush();
    if (!this.blockBuf) {
      const bytes = new Uint8Array(Math.max(this.opts.taskBytes, length));
      this.blockBuf = { bytes, index: this.buffers.push(bytes) - 1, used: 0 };
    }
    const cur = this.blockBuf as NonNullable<typeof this.blockBuf>;
    return cur.bytes.subarray(cur.used, cur.used + length);
  }

  /** Takes the last reserved block bytes as `node`'s blocks. Does not flush: call `settle` when done. */
  commitBlocks(node: TreeNode, length: number, first: boolean): void {
    const b = this.blockBuf as NonNullable<typeof this.blockBuf>;
    if (first) dataOf(node);
    this.items.push(BLOCKS, -1 - b.index, b.used, length, length);
    this.target({ node, first, length });
    b.used += length;
  }

  /**
   * Room for a tail carried by the main thread; never flushes, so earlier reservations stay valid. It closes no
   * fragment either: a file's blocks are committed before its tail, as the directory source hands them over, so
   * a fragment block the tail fills lands after them in both (the same tree gives the same image).
   */
  reserveTail(length: number): Uint8Array {
    return this.tailBuf.subarray(0, length);
  }

  /** Takes the last reserved tail as `node`'s tail. */
  commitTail(node: TreeNode, length: number): void {
    this.placeTail(node, length);
    this.frag.buf ??= new Uint8Array(this.bs);
    this.frag.buf.set(this.tailBuf.subarray(0, length), this.frag.used);
    this.frag.used += length;
  }

  /** Counts bytes that needed no work (duplicates) towards progress. */
  progressOnly(n: number): void {
    this.opts.onBytes(n);
  }

  /** Writes everything still queued, waits for it and hands the data region to the writer. */
  async finish(): Promise<void> {
    this.closeFragment();
    await this.flush();
    await this.chain;
    await this.writes.settle();
    this.writer.adoptData(this.end);
  }

  /** Waits for what is in flight (after a failure), so nothing writes after the caller gives up. */
  async dispose(): Promise<void> {
    this.deadlines.dispose();
    await Promise.allSettled([this.chain, this.writes.idle()]);
  }

  private placeTail(node: TreeNode, length: number): void {
    if (this.frag.used + length > this.bs) this.closeFragment();
    const d = dataOf(node);
    d.fragIndex = this.frag.index;
    d.fragOffset = this.frag.used;
  }

  private closeFragment(): void {
    const f = this.frag;
    if (f.used === 0) return;
    if (f.buf) f.parts.push({ bytes: f.buf.subarray(0, f.used) });
    this.items.push(FRAGMENT, f.parts.length, 0, f.used, f.used);
    for (const p of f.parts) {
      if ('file' in p)
        this.items.push(PART, this.pathIndex(p.file.path), p.offset, p.length, p.file.fileSize);
      else this.items.push(PART, -this.buffers.push(p.bytes), 0, p.bytes.length, p.bytes.length);
    }
    this.target({ fragment: f.index, length: f.used });
    this.fragCount++;
    this.frag = { index: this.fragCount, parts: [], used: 0 };
  }

  private target(target: Target): void {
    this.targets.push(target);
    this.pendingBytes += target.length;
  }

  private pathIndex(path: string): number {
    if (path !== this.lastPath) {
      this.paths.push(path);
      this.lastPath = path;
    }
    return this.paths.length - 1;
  }

  /**
   * Submits the current task when it is big enough. Returns a promise only when the window is full: then wait
   * for it before adding more (tens of thousands of small files need not pay for an await each).
   */
  settle(): Promise<void> | undefined {
    if (this.pendingBytes >= this.opts.taskBytes || this.targets.length >= TASK_ITEMS) return this.flush();
    return undefined;
  }

  private flush(): Promise<void> | undefined {
    if (!this.targets.length) {
      // Only a reservation nobody committed (a duplicate): drop it.
      this.blockBuf = undefined;
      this.buffers = [];
      return undefined;
    }
    this.opts.signal.throwIfAborted();
    if (this.inflight.length >= this.opts.window) {
      const oldest = this.inflight.shift() as Promise<void>;
      return oldest.then(() => this.submit());
    }
    this.submit();
    return undefined;
  }

  private submit(): void {
    this.opts.signal.throwIfAborted();
    const task: CompressTask = {
      op: 'compress',
      cfg: this.opts.cfg,
      paths: joinPaths(this.paths),
      rootLength: this.opts.rootLength,
      items: Float64Array.from(this.items),
      buffers: this.buffers,
      slab: this.opts.slabs.take(),
    };
    if (this.opts.cacheDir) task.cacheDir = this.opts.cacheDir;
    const transfer = [...this.buffers.map((b) => b.buffer as ArrayBuffer), task.items.buffer as ArrayBuffer];
    const targets = this.targets;
    this.items = [];
    this.paths = [];
    this.lastPath = '';
    this.targets = [];
    this.buffers = [];
    this.blockBuf = undefined;
    this.pendingBytes = 0;
    const result = this.run(task, transfer);
    result.catch(() => {});
    this.chain = this.chain.then(async () => {
      await result;
      return this.consume(task.slab, targets);
    });
    const done = this.chain;
    done.catch(() => {});
    this.inflight.push(done);
  }

  private run(task: CompressTask, transfer: ArrayBuffer[]): Promise<unknown> {
    const { taskTimeoutMs } = this.opts;
    const stalled = (): Error => {
      const firstPath = task.paths.slice(0, task.paths.indexOf('\0'));
      const where =
        task.items[ITEM.kind] === BLOCKS && firstPath
          ? displayPath(firstPath, task.rootLength)
          : 'a fragment block';
      return new Error(
        `compression worker stalled: a task starting at ${where} did not finish within ${Math.round(taskTimeoutMs / 1000)} s`,
      );
    };
    // An abort rejects with the caller's reason here; writeImage maps any later failure to it as well.
    return this.deadlines.run(this.pool.run(task, { transferList: transfer }), stalled);
  }

  private async consume(slab: number, targets: Target[]): Promise<void> {
    this.writes.check();
    const r = unpackResult(this.opts.slabs.buffers[slab] as SharedArrayBuffer);
    this.stats.blocksCompressed += r.compressed;
    this.stats.blocksFromCache += r.cache.fromCache;
    this.stats.cacheEntriesBad += r.cache.bad;
    this.stats.cacheEntriesUnwritable += r.cache.unwritable;
    const { table, body } = r;
    this.runs.beginTask(body);
    const settle = () => this.writes.settle();
    /** Body ranges not written: runs of blocks the image holds already. */
    const cuts: number[] = [];
    const at = this.end;
    let loc = at;
    let off = 0;
    let bytes = 0;
    for (let i = 0, k = 0; k < table.length; i++) {
      const t = targets[i] as Target;
      const len = table[k] as number;
      const n = table[k + 1] as number;
      if ('fragment' in t) {
        this.writer.addFragment(loc, table[k + 2] as number);
        this.stats.fragments++;
        loc += len;
      } else {
        const d = t.node.data as FileData;
        const words = table.subarray(k + 2, k + 2 + n);
        // Only a file handed over in one piece (up to a chunk) can be matched: all its blocks are in this result.
        const whole = t.first && t.length === Math.floor((t.node.size ?? 0) / this.bs) * this.bs;
        const keys = this.runs.keys(words, off);
        const earlier = whole ? await this.runs.find(words, keys, off, settle) : undefined;
        if (earlier !== undefined) {
          d.start = earlier;
          cuts.push(off, off + len);
          this.stats.blocksShared += n;
        } else {
          if (t.first) d.start = loc;
          this.runs.add(words, keys, off, loc);
          loc += len;
        }
        for (let w = 0; w < n; w++) {
          const word = words[w] as number;
          d.blocks.push(word);
          if (word === 0) d.sparse += this.bs;
        }
      }
      off += len;
      bytes += t.length;
      k += 2 + n;
    }
    this.end = loc;
    this.writes.push(body, at, cuts, () => this.opts.slabs.release(slab));
    this.opts.onBytes(bytes);
    // A slow disk holds results in memory; past a window's worth, wait for it.
    if (this.writes.pending > this.opts.window) await this.writes.idle();
  }
}
