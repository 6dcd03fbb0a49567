/**
 * Result memory shared with the workers. Each task's result is written into one slab and read from there by the
 * file write, so no result buffer is allocated, moved between threads or garbage-collected per task. (Moved
 * buffers count as external memory on the receiving thread, and V8 answers every 64 MiB of it with a
 * collection: a fifth of the main thread's time in an lz4 build.)
 */
export class ResultSlabs {
  readonly buffers: SharedArrayBuffer[];
  private readonly free: number[];

  /** `count` slabs of `bytes` each; memory is only committed as slabs are first written. */
  constructor(count: number, bytes: number) {
    this.buffers = Array.from({ length: count }, () => new SharedArrayBuffer(bytes));
    this.free = Array.from({ length: count }, (_, i) => count - 1 - i);
  }

  get bytes(): number {
    return this.buffers[0]?.byteLength ?? 0;
  }

  /** A free slab's index. The pipeline's window bounds the slabs in use, so running out is a bug. */
  take(): number {
    const i = this.free.pop();
    if (i === undefined) throw new Error('internal error: every result slab is in use');
    return i;
  }

  release(i: number): void {
    this.free.push(i);
  }
}
