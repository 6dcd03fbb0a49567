/**
 * The block pipeline: batches of file ranges go to the worker pool; results are consumed strictly in submission
 * order, so the image bytes do not depend on the number of workers. File tails are packed into fragment blocks,
 * which are compressed in the pool too and kept in a side file until all data blocks are written.
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import type { Piscina } from 'piscina';
import type { CompressorConfig, NativeSquashWriter } from './native.js';
import { type CompressResultHeader, type CompressTask, unpackResult, type WorkItem } from './protocol.js';
import type { TreeNode } from './tree.js';

/** Fragment blocks compressed per pool task, so tails do not pay per-task overhead one block at a time. */
const FRAGMENT_BATCH = 8;

export interface PipelineOptions {
  cfg: CompressorConfig;
  cacheDir?: string;
  /** Tasks allowed in flight (compressing or waiting to be written). */
  window: number;
  signal: AbortSignal;
  taskTimeoutMs: number;
  onBytes: (n: number) => void;
}

export interface Target {
  node: TreeNode;
  first: boolean;
  /** Uncompressed bytes of the item, for progress. */
  length: number;
}

export interface PipelineStats {
  blocksCompressed: number;
  blocksFromCache: number;
  fragments: number;
}

export class DataPipeline {
  readonly stats: PipelineStats = { blocksCompressed: 0, blocksFromCache: 0, fragments: 0 };
  private readonly inflight: Promise<void>[] = [];
  private chain: Promise<void> = Promise.resolve();
  private batch: Uint8Array;
  private batchItems: WorkItem[] = [];
  private fragUsed = 0;
  private fragChain: Promise<void> = Promise.resolve();
  private readonly fragWords: number[] = [];
  private fragBytes = 0;
  private fragCount = 0;
  private readonly fragFd: number;

  constructor(
    private readonly pool: Piscina,
    private readonly writer: NativeSquashWriter,
    private readonly opts: PipelineOptions,
    private readonly fragPath: string,
  ) {
    this.batch = new Uint8Array(FRAGMENT_BATCH * opts.cfg.blockSize);
    this.fragFd = openSync(fragPath, 'w+');
  }

  private run(task: CompressTask, transfer: ArrayBuffer[]): Promise<ArrayBuffer> {
    const timeout = AbortSignal.timeout(this.opts.taskTimeoutMs);
    const signal = AbortSignal.any([this.opts.signal, timeout]);
    return (this.pool.run(task, { signal, transferList: transfer }) as Promise<ArrayBuffer>).catch((err) => {
      if (timeout.aborted && !this.opts.signal.aborted) {
        const first = task.items[0]?.display ?? 'fragment block';
        throw new Error(
          `compression worker stalled: a task starting at ${first} did not finish within ${Math.round(this.opts.taskTimeoutMs / 1000)} s`,
          { cause: err },
        );
      }
      throw this.opts.signal.aborted ? (this.opts.signal.reason ?? err) : err;
    });
  }

  /** Queues a task; waits while the window is full. Results are written in the order tasks were submitted. */
  async submit(items: WorkItem[], targets: Target[], data?: Uint8Array): Promise<void> {
    if (this.inflight.length >= this.opts.window) await this.inflight.shift();
    const task: CompressTask = { op: 'compress', cfg: this.opts.cfg, items, data };
    if (this.opts.cacheDir) task.cacheDir = this.opts.cacheDir;
    const result = this.run(task, data ? [data.buffer as ArrayBuffer] : []);
    result.catch(() => {});
    this.chain = this.chain.then(async () => this.consume(await result, targets));
    const done = this.chain;
    done.catch(() => {});
    this.inflight.push(done);
  }

  private consume(buf: ArrayBuffer, targets: Target[]): void {
    const { header, body } = unpackResult<CompressResultHeader>(buf);
    this.stats.blocksCompressed += header.compressed;
    this.stats.blocksFromCache += header.fromCache;
    const base = this.writer.appendData(body.subarray(0, header.outLength));
    let off = 0;
    let tailAt = header.outLength;
    header.items.forEach((item, i) => {
      const t = targets[i] as Target;
      const node = t.node;
      if (t.first || !node.data)
        node.data = { start: base + off, blocks: [], fragIndex: 0xffffffff, fragOffset: 0, sparse: 0 };
      const data = node.data;
      for (const w of item.words) {
        data.blocks.push(w);
        if (w === 0) data.sparse += this.opts.cfg.blockSize;
      }
      off += item.bytes;
      if (item.tailLength > 0) {
        this.addTail(node, body.subarray(tailAt, tailAt + item.tailLength));
        tailAt += item.tailLength;
      }
      this.opts.onBytes(t.length);
    });
  }

  private addTail(node: TreeNode, tail: Uint8Array): void {
    const bs = this.opts.cfg.blockSize;
    if (this.fragUsed + tail.length > bs) this.closeFragment();
    if (!node.data) throw new Error(`internal: tail without data for ${node.path}`);
    node.data.fragIndex = this.fragCount;
    node.data.fragOffset = this.fragUsed;
    this.batch.set(tail, this.batchItems.length * bs + this.fragUsed);
    this.fragUsed += tail.length;
  }

  /** Ends the current fragment block; full batches of blocks go to the pool as one task. */
  private closeFragment(): void {
    if (this.fragUsed === 0) return;
    const bs = this.opts.cfg.blockSize;
    const dataOffset = this.batchItems.length * bs;
    this.batchItems.push({
      display: 'fragment block',
      offset: 0,
      length: this.fragUsed,
      last: true,
      fileSize: this.fragUsed,
      whole: true,
      dataOffset,
    });
    this.fragUsed = 0;
    this.fragCount++;
    if (this.batchItems.length === FRAGMENT_BATCH) this.flushFragments();
  }

  private flushFragments(): void {
    if (!this.batchItems.length) return;
    const data = this.batch;
    const items = this.batchItems;
    const task: CompressTask = { op: 'compress', cfg: this.opts.cfg, items, data };
    if (this.opts.cacheDir) task.cacheDir = this.opts.cacheDir;
    const result = this.run(task, [data.buffer as ArrayBuffer]);
    result.catch(() => {});
    this.fragChain = this.fragChain.then(async () => {
      const { header, body } = unpackResult<CompressResultHeader>(await result);
      this.stats.blocksCompressed += header.compressed;
      this.stats.blocksFromCache += header.fromCache;
      const bytes = body.subarray(0, header.outLength);
      writeSync(this.fragFd, bytes, 0, bytes.length, this.fragBytes);
      this.fragBytes += bytes.length;
      for (const it of header.items) this.fragWords.push(it.words[0] as number);
    });
    this.fragChain.catch(() => {});
    this.batch = new Uint8Array(FRAGMENT_BATCH * this.opts.cfg.blockSize);
    this.batchItems = [];
  }

  /** Counts bytes that needed no work (duplicates) towards progress. */
  progressOnly(n: number): void {
    this.opts.onBytes(n);
  }

  /** Waits for every task, writes the fragment blocks after the data and records them in the fragment table. */
  async finish(): Promise<void> {
    await this.chain;
    this.closeFragment();
    this.flushFragments();
    await this.fragChain;
    let at = 0;
    const chunk = Buffer.allocUnsafe(4 << 20);
    let base = -1;
    while (at < this.fragBytes) {
      const n = readSync(this.fragFd, chunk, 0, Math.min(chunk.length, this.fragBytes - at), at);
      const where = this.writer.appendData(chunk.subarray(0, n));
      if (base < 0) base = where;
      at += n;
    }
    let loc = base;
    for (const w of this.fragWords) {
      this.writer.addFragment(loc, w);
      loc += w & 0xffffff;
      this.stats.fragments++;
    }
  }

  /** Drops the side file; safe to call more than once. */
  async dispose(): Promise<void> {
    await Promise.allSettled([this.chain, this.fragChain]);
    try {
      closeSync(this.fragFd);
    } catch {}
    try {
      unlinkSync(this.fragPath);
    } catch {}
  }
}
