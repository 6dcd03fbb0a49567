import { describe, expect, it } from 'vitest';
import { inLanes, oneAtATime } from '../../../src/stages/lanes.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('inLanes', () => {
  it('returns results in item order with at most `limit` calls at once', async () => {
    let running = 0;
    let most = 0;
    const out = await inLanes([30, 5, 20, 1, 10], 2, async (ms) => {
      running++;
      most = Math.max(most, running);
      await tick(ms);
      running--;
      return ms * 2;
    });
    expect(out).toEqual([60, 10, 40, 2, 20]);
    expect(most).toBe(2);
  });

  it('starts nothing after a failure and lets running calls settle before throwing it', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const run = inLanes([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      await tick(n === 1 ? 5 : 30);
      settled.push(n);
      if (n === 1) throw new Error('first failed');
      return n;
    });
    await expect(run).rejects.toThrow('first failed');
    expect(started).toEqual([1, 2]);
    expect(settled.sort()).toEqual([1, 2]);
  });
});

describe('oneAtATime', () => {
  it('runs calls one at a time in the order they came, and goes on after a failure', async () => {
    const gate = oneAtATime();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ms: number, fail = false) =>
      gate(async () => {
        running++;
        log.push(`${name} start ${running}`);
        await new Promise((r) => setTimeout(r, ms));
        running--;
        log.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a', 30), job('b', 5, true), job('c', 1)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['a start 1', 'a end', 'b start 1', 'b end', 'c start 1', 'c end']);
  });
});
