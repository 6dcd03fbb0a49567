/**
 * Runs `fn` over `items` in at most `limit` lanes. After a failure no new item starts, and the calls already
 * running settle before the first failure is thrown, so nothing (a guest, a container, a temp file) outlives
 * the call.
 * @returns the results in item order.
 */
export async function inLanes<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let failure: { reason: unknown } | undefined;
  let next = 0;
  const lane = async () => {
    while (next < items.length && !failure) {
      const k = next++;
      try {
        results[k] = await fn(items[k] as T);
      } catch (reason) {
        failure ??= { reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.reason;
  return results;
}

/** A gate that runs the calls handed to it one at a time, in the order they came, whether they settle or fail. */
export function oneAtATime(): <R>(fn: () => Promise<R>) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
