/**
 * The data blocks written so far, to find a file whose blocks repeat a run already in the image. SquashFS keeps a
 * file's blocks as one run from its start block, so a file can reuse earlier blocks only when all of its blocks
 * lie back to back there; then it points at them and its own copy is not written. Blocks are matched by
 * compressed bytes (equal input and settings give equal output), first by a short key, then byte for byte.
 */
import { readSync } from 'node:fs';
import { RAW_BIT } from './protocol.js';

/** Candidates looked at per key: a block that repeats often (padding) must not make the search quadratic. */
const MAX_CANDIDATES = 8;
/** Bytes from each end of a block that go into its key. */
const KEY_EDGE = 16;

function sizeOf(word: number): number {
  return word & ~RAW_BIT;
}

export class WrittenRuns {
  /** Per block written, in order: where it lies and its key (which includes its size word). */
  private readonly loc: number[] = [];
  private readonly key: string[] = [];
  private readonly byKey = new Map<string, number[]>();
  /** Index of the current task's first block; its blocks sit in `body` at `taskOff[j - taskStart]`. */
  private taskStart = 0;
  private taskOff: number[] = [];
  private body: Uint8Array = new Uint8Array(0);

  /** @param fd the image, open for reading: blocks of earlier tasks are compared with what was written. */
  constructor(private readonly fd: number) {}

  /** Starts a task's result: blocks added from now on are in `body` until the next task. */
  beginTask(body: Uint8Array): void {
    this.taskStart = this.loc.length;
    this.taskOff = [];
    this.body = body;
  }

  /** Keys of a file's blocks at `off` in the current body, for {@link find} and {@link add}; sparse blocks get ''. */
  keys(words: ArrayLike<number>, off: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const size = sizeOf(words[i] as number);
      out.push(size > 0 ? this.keyAt(words[i] as number, off) : '');
      off += size;
    }
    return out;
  }

  /** Records a file's blocks, written at `at` from `off` in the current body. Sparse blocks end a run. */
  add(words: ArrayLike<number>, keys: readonly string[], off: number, at: number): void {
    for (let i = 0; i < words.length; i++) {
      const size = sizeOf(words[i] as number);
      const key = keys[i] as string;
      if (size > 0) {
        const idx = this.loc.push(at) - 1;
        this.key.push(key);
        this.taskOff.push(off);
        const list = this.byKey.get(key);
        if (!list) this.byKey.set(key, [idx]);
        else if (list.length < MAX_CANDIDATES) list.push(idx);
      }
      off += size;
      at += size;
    }
  }

  /**
   * Where a run equal to these blocks (at `off` in the current body) already lies, or undefined. `settle` is
   * awaited before reading blocks of earlier tasks back from the image.
   */
  async find(
    words: ArrayLike<number>,
    keys: readonly string[],
    off: number,
    settle: () => Promise<void>,
  ): Promise<number | undefined> {
    if (keys.length === 0 || keys.includes('')) return undefined;
    for (const start of this.byKey.get(keys[0] as string) ?? []) {
      if (!this.lines(start, words, keys)) continue;
      if (start < this.taskStart) await settle();
      if (this.sameBytes(start, words, off)) return this.loc[start];
    }
    return undefined;
  }

  /** Same keys, back to back in the image: cheap checks before reading any bytes. */
  private lines(start: number, words: ArrayLike<number>, keys: readonly string[]): boolean {
    if (start + keys.length > this.loc.length) return false;
    let at = this.loc[start] as number;
    for (let i = 0; i < keys.length; i++) {
      if (this.loc[start + i] !== at || this.key[start + i] !== keys[i]) return false;
      at += sizeOf(words[i] as number);
    }
    return true;
  }

  private sameBytes(start: number, words: ArrayLike<number>, off: number): boolean {
    for (let i = 0; i < words.length; i++) {
      const j = start + i;
      const size = sizeOf(words[i] as number);
      const mine = this.body.subarray(off, off + size);
      let theirs: Uint8Array;
      if (j >= this.taskStart) {
        const o = this.taskOff[j - this.taskStart] as number;
        theirs = this.body.subarray(o, o + size);
      } else {
        theirs = new Uint8Array(size);
        if (readSync(this.fd, theirs, 0, size, this.loc[j] as number) !== size) return false;
      }
      if (!Buffer.from(mine.buffer, mine.byteOffset, size).equals(theirs)) return false;
      off += size;
    }
    return true;
  }

  private keyAt(word: number, off: number): string {
    const size = sizeOf(word);
    const b = Buffer.from(this.body.buffer, this.body.byteOffset + off, size);
    const head = b.toString('latin1', 0, Math.min(KEY_EDGE, size));
    const tail = b.toString('latin1', Math.max(0, size - KEY_EDGE), size);
    return `${word}:${head}${tail}`;
  }
}
