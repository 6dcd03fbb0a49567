/**
 * Writes compressed results into the image file in the order they were queued, leaving out runs the image
 * already holds. The main thread only queues; libuv's thread pool does the copies.
 */
import { write } from 'node:fs';
import { promisify } from 'node:util';

const writeFd = promisify(write);

/** Writes all of `bytes` at `position` (libuv's thread pool does the copy, not the main thread). */
async function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await writeFd(fd, bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Writes `body` at `position` without the ranges in `cuts` (start, end pairs, in order): what follows closes up. */
async function writeWithout(fd: number, body: Uint8Array, position: number, cuts: number[]): Promise<void> {
  let from = 0;
  for (let i = 0; i <= cuts.length; i += 2) {
    const to = i < cuts.length ? (cuts[i] as number) : body.length;
    if (to > from) await writeAt(fd, body.subarray(from, to), position);
    position += to - from;
    from = i < cuts.length ? (cuts[i + 1] as number) : to;
  }
}

/** An ordered queue of positional writes; the first failure is kept and thrown to whoever checks next. */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private error: unknown;
  /** Writes queued and not yet done. */
  pending = 0;

  constructor(private readonly fd: number) {}

  /** Queues `body` (without `cuts`) at `position`; `done` runs once it is on disk. */
  push(body: Uint8Array, position: number, cuts: number[], done: () => void): void {
    this.pending++;
    this.tail = this.tail.then(
      () =>
        writeWithout(this.fd, body, position, cuts).then(
          () => {
            this.pending--;
            done();
          },
          (err: unknown) => {
            this.error ??= err;
          },
        ),
      () => {},
    );
  }

  /** Resolves when every queued write has ended (never rejects). */
  idle(): Promise<void> {
    return this.tail;
  }

  /**
   * Throws the first write failure, if any.
   * @throws the error of the first write that failed.
   */
  check(): void {
    if (this.error) throw this.error;
  }

  /**
   * Waits for the writes queued so far, so the image can be read back.
   * @throws the error of the first write that failed.
   */
  async settle(): Promise<void> {
    await this.tail;
    this.check();
  }
}
