/**
 * Time limits and abort for pool tasks, kept on this side of the pool. Piscina never queues a second task on a
 * worker that runs one with an AbortSignal, so tasks given a signal each wait for a main-thread round trip
 * between them (about a sixth of the workers' time in an lz4 build). Tasks therefore go to the pool without one,
 * and a failed run destroys the pool, which ends a stalled worker.
 */
export class Deadlines {
  private readonly waiting = new Set<(reason: unknown) => void>();
  private readonly onAbort = (): void => {
    for (const fail of this.waiting) fail(this.signal.reason);
    this.waiting.clear();
  };

  /** One abort listener for all the run's tasks (a listener per task would pile up on the caller's signal). */
  constructor(
    private readonly signal: AbortSignal,
    /** How long a task may take, from when it is handed to the pool. */
    readonly ms: number,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * Settles as `work` does, or rejects first: with the abort reason when the signal fires, or with `stalled()`
   * when the time limit passes without a result. A later failure of `work` is then ignored.
   */
  run<T>(work: Promise<T>, stalled: () => Error): Promise<T> {
    work.catch(() => {});
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(fail);
        reject(stalled());
      }, this.ms);
      const fail = (reason: unknown): void => {
        clearTimeout(timer);
        reject(reason);
      };
      this.waiting.add(fail);
      work.then(
        (value) => {
          this.waiting.delete(fail);
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          this.waiting.delete(fail);
          fail(err);
        },
      );
    });
  }

  /** The run is over: stops listening to the caller's signal. */
  dispose(): void {
    this.signal.removeEventListener('abort', this.onAbort);
  }
}
