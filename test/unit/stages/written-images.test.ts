import { describe, expect, it } from 'vitest';
import type { Qcow2Reference } from '../../../src/qcow2/write.js';
import { WrittenImages } from '../../../src/stages/qcow-convert.js';

function fakeRef(virtualSize: number, compression: 'zlib' | 'zstd'): Qcow2Reference & { closed: number } {
  return {
    virtualSize,
    compression,
    level: 3,
    held: new Map(),
    closed: 0,
    path: () => '/image',
    raw: () => '/raw',
    reached: () => Promise.resolve(),
    close() {
      this.closed++;
    },
  };
}

describe('WrittenImages', () => {
  it('keeps the first image of each settings and lets go of the rest at once (each holds a raw disk open)', () => {
    const w = new WrittenImages();
    const [a, b, c] = [fakeRef(100, 'zstd'), fakeRef(100, 'zstd'), fakeRef(100, 'zlib')];
    w.add(a);
    w.add(b);
    w.add(c);
    expect(b.closed).toBe(1);
    expect([a.closed, c.closed]).toEqual([0, 0]);
    expect(w.like(100, 'zstd')).toBe(a);
    expect(w.like(100, 'zlib')).toBe(c);
    expect(w.like(200, 'zstd')).toBeUndefined();
    w.close();
    expect([a.closed, c.closed]).toEqual([1, 1]);
  });
});
