import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RAW_BIT } from '../../../src/squashfs/protocol.js';
import { WrittenRuns } from '../../../src/squashfs/written-runs.js';

const SIZE = 64;
const RAW = SIZE | RAW_BIT;
/** Where the first task's body lands in the image. */
const AT = 1000;

/** A block of bytes from `seed`; `poke` changes one byte in the middle (edges, and so the key, stay). */
function block(seed: number, poke = false): Uint8Array {
  const b = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  if (poke) b[SIZE / 2] = (b[SIZE / 2] as number) ^ 1;
  return b;
}

function body(...blocks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(blocks.length * SIZE);
  blocks.forEach((b, i) => {
    out.set(b, i * SIZE);
  });
  return out;
}

describe('WrittenRuns', () => {
  let dir: string;
  let fd: number;
  let settles: number;
  const settle = async () => {
    settles++;
  };
  const add = (runs: WrittenRuns, words: number[], off: number, at: number) =>
    runs.add(words, runs.keys(words, off), off, at);
  const find = (runs: WrittenRuns, words: number[], off: number) =>
    runs.find(words, runs.keys(words, off), off, settle);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'runs-'));
    fd = openSync(join(dir, 'image'), 'w+');
    settles = 0;
  });
  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds a run inside the same task, also one starting mid-file', async () => {
    const runs = new WrittenRuns(fd);
    runs.beginTask(body(block(1), block(2), block(3), block(2), block(3)));
    add(runs, [RAW, RAW, RAW], 0, AT);
    expect(await find(runs, [RAW, RAW], 3 * SIZE)).toBe(AT + SIZE);
    expect(settles).toBe(0);
  });

  it('refuses a run whose key matches but whose bytes differ', async () => {
    const runs = new WrittenRuns(fd);
    runs.beginTask(body(block(1), block(2), block(1), block(2, true)));
    add(runs, [RAW, RAW], 0, AT);
    expect(await find(runs, [RAW, RAW], 2 * SIZE)).toBeUndefined();
  });

  it('reads an earlier task back from the image once its writes have settled', async () => {
    const runs = new WrittenRuns(fd);
    const first = body(block(1), block(2));
    runs.beginTask(first);
    add(runs, [RAW, RAW], 0, AT);
    writeSync(fd, first, 0, first.length, AT);
    runs.beginTask(body(block(1), block(2)));
    expect(await find(runs, [RAW, RAW], 0)).toBe(AT);
    expect(settles).toBe(1);
    // What is on disk decides: change a middle byte there and the run no longer matches.
    writeSync(fd, new Uint8Array([0xee]), 0, 1, AT + SIZE + SIZE / 2);
    expect(await find(runs, [RAW, RAW], 0)).toBeUndefined();
  });

  it('needs the blocks back to back, of the same size word, and none sparse', async () => {
    const runs = new WrittenRuns(fd);
    runs.beginTask(body(block(1), block(2), block(1), block(2)));
    add(runs, [RAW], 0, AT);
    add(runs, [RAW], SIZE, AT + 5 * SIZE); // a fragment block lies between
    expect(await find(runs, [RAW, RAW], 2 * SIZE)).toBeUndefined();
    expect(await find(runs, [SIZE, RAW], 2 * SIZE)).toBeUndefined(); // stored compressed, not raw
    expect(await find(runs, [RAW, 0], 2 * SIZE)).toBeUndefined();
    expect(await find(runs, [RAW], 2 * SIZE)).toBe(AT);
  });
});
