/**
 * Runs of one kind that can go in one call (the qcow osconfig runs of a cut: one ansible-playbook configures
 * every bundle's container, one start-up instead of one per bundle). The call is made once every expected
 * participant has joined or left (its result came from a cache); a participant that joins later runs alone.
 */
export class Batch<I, T> {
  private queue: { input: I; done: (r: PromiseSettledResult<T>) => void }[] = [];
  private calls: Promise<unknown>[] = [];

  /** @param expected participants to wait for */
  constructor(
    private expected: number,
    private readonly runAll: RunAll<I, T>,
  ) {}

  /** Settles once every call made so far has returned (not only handed out its results). */
  async idle(): Promise<void> {
    await Promise.allSettled(this.calls);
  }

  /** Joins the next call with `input`. */
  join(input: I): Promise<T> {
    const result = new Promise<T>((resolve, reject) =>
      this.queue.push({
        input,
        done: (r) => (r.status === 'fulfilled' ? resolve(r.value) : reject(r.reason)),
      }),
    );
    this.flushWhenAllIn();
    return result;
  }

  /** One participant will not join. */
  leave(): void {
    this.expected--;
    this.flushWhenAllIn();
  }

  private flushWhenAllIn(): void {
    if (this.queue.length === 0 || this.queue.length < this.expected) return;
    const members = this.queue.splice(0);
    this.expected -= members.length;
    const early = (i: number, r: PromiseSettledResult<T>) => members[i]?.done(r);
    const call = this.runAll(
      members.map((m) => m.input),
      early,
    ).then(
      (rs) => {
        for (const [i, m] of members.entries())
          m.done(rs[i] ?? { status: 'rejected', reason: new Error('batch: no result for a participant') });
      },
      (reason: unknown) => {
        for (const m of members) m.done({ status: 'rejected', reason });
      },
    );
    this.calls.push(call);
  }
}

/**
 * One call for all inputs that joined: per input (in order) its result or its own failure; a rejection fails
 * every one of them. It may hand a participant its result earlier through `early` (the call itself then still
 * cleans up).
 */
export type RunAll<I, T> = (
  inputs: I[],
  early: (index: number, result: PromiseSettledResult<T>) => void,
) => Promise<PromiseSettledResult<T>[]>;
