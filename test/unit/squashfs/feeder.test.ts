import { describe, expect, it } from 'vitest';
import { Feeder } from '../../../src/squashfs/feeder.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('walk feeder', () => {
  it('feeds in push order and waits for a feed that asks it to before the next', async () => {
    const fed: number[] = [];
    let release: (() => void) | undefined;
    const feeder = new Feeder<number>((n) => {
      fed.push(n);
      if (n !== 2) return undefined;
      return new Promise<void>((r) => {
        release = r;
      });
    });
    for (const n of [1, 2, 3]) feeder.push(n);
    feeder.check();
    await tick();
    expect(fed).toEqual([1, 2]);
    feeder.push(4);
    feeder.check();
    await tick();
    expect(fed).toEqual([1, 2]);
    release?.();
    feeder.end();
    await feeder.done;
    expect(fed).toEqual([1, 2, 3, 4]);
  });

  it('hands a failed feed to the walk and to whoever waits for it', async () => {
    const boom = new Error('worker failed');
    const feeder = new Feeder<number>((n) => (n === 2 ? Promise.reject(boom) : undefined));
    for (const n of [1, 2, 3]) feeder.push(n);
    feeder.check();
    await tick();
    expect(() => feeder.check()).toThrow(boom);
    await expect(feeder.done).rejects.toBe(boom);
  });

  it('feeds nothing more once stopped', async () => {
    const fed: number[] = [];
    let release: (() => void) | undefined;
    const feeder = new Feeder<number>((n) => {
      fed.push(n);
      return n === 1
        ? new Promise<void>((r) => {
            release = r;
          })
        : undefined;
    });
    for (const n of [1, 2, 3]) feeder.push(n);
    feeder.check();
    await tick();
    feeder.stop();
    release?.();
    await feeder.done;
    expect(fed).toEqual([1]);
  });
});
