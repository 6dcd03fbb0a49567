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
  private readonly loc: number[] = [];
  private readonly word: number[] = [];
  private readonly key: string[] = [];
  /** Where a block of the task being consumed sits in its body (valid from `taskStart` on). */
  private readonly bodyOff: number[] = [];
  private readonly byKey = new Map<string, number[]>();
  private taskStart = 0;
  private body: Uint8Array = new Uint8Array(0);

  /** @param fd the image, open for reading: blocks of earlier tasks are compared with what was written. */
  constructor(private readonly fd: number) {}

  /** Starts a task's result: blocks added from now on are in `body` until the next task. */
  beginTask(body: Uint8Array): void {
    this.taskStart = this.loc.length;
    this.body = body;
  }

  /** Records a file's blocks, written at `at` from `off` in the current body. Sparse blocks end a run. */
  add(words: ArrayLike<number>, off: number, at: number): void {
    for (let i = 0; i < words.length; i++) {
      const w = words[i] as number;
      const size = sizeOf(w);
      if (size > 0) {
        const key = this.keyAt(w, off);
        const idx = this.loc.push(at) - 1;
        this.word.push(w);
        this.key.push(key);
        this.bodyOff.push(off);
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
    off: number,
    settle: () => Promise<void>,
  ): Promise<number | undefined> {
    if (words.length === 0) return undefined;
    for (let i = 0; i < words.length; i++) if (sizeOf(words[i] as number) === 0) return undefined;
    const candidates = this.byKey.get(this.keyAt(words[0] as number, off));
    if (!candidates) return undefined;
    for (const start of candidates) {
      if (!this.lines(start, words, off)) continue;
      if (start < this.taskStart) await settle();
      if (this.sameBytes(start, words, off)) return this.loc[start];
    }
    return undefined;
  }

  /** Same sizes and keys, back to back in the image: cheap checks before reading any bytes. */
  private lines(start: number, words: ArrayLike<number>, off: number): boolean {
    if (start + words.length > this.loc.length) return false;
    let at = this.loc[start] as number;
    for (let i = 0; i < words.length; i++) {
      const j = start + i;
      const w = words[i] as number;
      if (this.loc[j] !== at || this.word[j] !== w || this.key[j] !== this.keyAt(w, off)) return false;
      at += sizeOf(w);
      off += sizeOf(w);
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
        const o = this.bodyOff[j] as number;
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
