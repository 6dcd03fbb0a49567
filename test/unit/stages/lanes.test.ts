import { describe, expect, it } from 'vitest';
import { inLanes } from '../../../src/stages/lanes.js';

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
