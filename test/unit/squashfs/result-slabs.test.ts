import { describe, expect, it } from 'vitest';
import { resultBytes, slabsFor } from '../../../src/squashfs/pipeline-sizing.js';
import { ResultSlabs } from '../../../src/squashfs/result-slabs.js';

describe('result slabs', () => {
  it('hands out each slab once until it is released, and says so when all are in use', () => {
    const slabs = new ResultSlabs(3, 64);
    const taken = [slabs.take(), slabs.take(), slabs.take()];
    expect(new Set(taken).size).toBe(3);
    expect(() => slabs.take()).toThrow(/every result slab is in use/);
    slabs.release(taken[1] as number);
    expect(slabs.take()).toBe(taken[1]);
    expect(slabs.buffers.every((b) => b instanceof SharedArrayBuffer && b.byteLength === 64)).toBe(true);
  });

  it('sizes a slab for the largest task: a task of blocks, one more run, a tail and its fragment, all raw', () => {
    const bs = 128 << 10;
    // 4 MiB task + one chunk (4 MiB) + two blocks, with room for the table words.
    expect(resultBytes(4 << 20, bs)).toBeGreaterThan(8 * 1024 * 1024 + 2 * bs);
    expect(resultBytes(4 << 20, bs)).toBeLessThan(8 * 1024 * 1024 + 2 * bs + 16 * 1024);
    expect(slabsFor(8)).toBe(17);
  });
});
