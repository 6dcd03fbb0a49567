/**
 * A queue between the directory walk and the pipeline. It feeds walked files as fast as the pipeline's window
 * allows while the walk runs ahead, so stretches of small files (much walking per byte) find work already
 * queued. Items are fed in the order pushed, so the image does not depend on timing.
 */
export class Feeder<T> {
  private readonly queue: T[] = [];
  private head = 0;
  private ended = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private error: unknown;
  readonly done: Promise<void>;

  /** @param feed hands one item on; returns a promise when the next must wait for it. */
  constructor(private readonly feed: (item: T) => Promise<void> | undefined) {
    this.done = this.run();
    this.done.catch((err: unknown) => {
      this.error ??= err;
    });
  }

  push(item: T): void {
    this.queue.push(item);
  }

  /** Wakes the feeder for what was pushed; throws what it failed with, so the walk stops. */
  check(): void {
    if (this.error) throw this.error;
    this.wake?.();
  }

  /** No more files: feeds what is queued, then `done` resolves. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** The walk failed: feeds nothing more. */
  stop(): void {
    this.stopped = true;
    this.end();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const wait = this.feed(this.queue[this.head++] as T);
      if (wait) await wait;
    }
  }
}
