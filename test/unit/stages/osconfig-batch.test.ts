import { describe, expect, it } from 'vitest';
import { Batch } from '../../../src/stages/osconfig-batch.js';

/** A batch whose calls are recorded; each input n gives n * 10, or fails when negative. */
function recorded(expected: number) {
  const calls: number[][] = [];
  const batch = new Batch<number, number>(expected, async (inputs) => {
    calls.push(inputs);
    return inputs.map((n) =>
      n < 0
        ? { status: 'rejected' as const, reason: new Error(`bad ${n}`) }
        : { status: 'fulfilled' as const, value: n * 10 },
    );
  });
  return { calls, batch };
}

describe('Batch', () => {
  it('makes one call once every expected participant has joined or left', async () => {
    const { calls, batch } = recorded(3);
    const a = batch.join(1);
    await new Promise((go) => setImmediate(go));
    expect(calls).toEqual([]);
    batch.leave();
    const b = batch.join(2);
    expect(await Promise.all([a, b])).toEqual([10, 20]);
    expect(calls).toEqual([[1, 2]]);
  });

  it('gives each participant its own failure, and a late one a call of its own', async () => {
    const { calls, batch } = recorded(2);
    const bad = batch.join(-1);
    const good = batch.join(3);
    await expect(bad).rejects.toThrow('bad -1');
    expect(await good).toBe(30);
    expect(await batch.join(4)).toBe(40);
    expect(calls).toEqual([[-1, 3], [4]]);
  });

  it('fails every participant when the call itself fails', async () => {
    const batch = new Batch<number, number>(2, async () => {
      throw new Error('no docker');
    });
    const r = await Promise.allSettled([batch.join(1), batch.join(2)]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
  });

  it('hands a result over early, and is idle only once the call has returned', async () => {
    let finish = (): void => undefined;
    const cleanedUp = new Promise<void>((go) => {
      finish = go;
    });
    let ended = false;
    const batch = new Batch<number, number>(2, async (inputs, early) => {
      early(1, { status: 'fulfilled', value: 7 });
      await cleanedUp;
      ended = true;
      return inputs.map((n) => ({ status: 'fulfilled' as const, value: n }));
    });
    const first = batch.join(1);
    expect(await batch.join(2)).toBe(7);
    const idle = batch.idle().then(() => ended);
    finish();
    expect(await first).toBe(1);
    expect(await idle).toBe(true);
  });

  it('makes no call when every participant left', async () => {
    const { calls, batch } = recorded(2);
    batch.leave();
    batch.leave();
    await new Promise((go) => setImmediate(go));
    expect(calls).toEqual([]);
  });
});
