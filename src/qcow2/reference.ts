/**
 * An image one writer is writing (or has written) that a later image of the same settings copies identical
 * clusters from: the later writer follows just behind, batch by batch, so the two finish close together
 * instead of compressing the same clusters twice side by side.
 */
import { closeSync, openSync } from 'node:fs';
import type { CompressionType } from './format.js';

/** Where an image holds its data clusters, and how far it has got (see Qcow2WriteOptions.reuse). */
export interface Qcow2Reference {
  readonly virtualSize: number;
  readonly compression: CompressionType;
  readonly level: number;
  /** Guest cluster index → host offset and size (> 0 compressed, < 0 stored as is). */
  readonly held: ReadonlyMap<number, readonly [number, number]>;
  /** A path that opens the image now; none once its writer failed or it was let go. */
  path(): string | undefined;
  /**
   * A path that opens the raw disk the image is being written from, which its writer vouches for (clusters
   * are then compared with it rather than decompressed); none for an image read back from a file.
   */
  raw(): string | undefined;
  /** Resolves once the clusters below guest offset `end` are written, or the writer has stopped. */
  reached(end: number): Promise<void>;
  /** Lets go of the image (its descriptor). */
  close(): void;
}

export class LiveReference implements Qcow2Reference {
  private placed = 0;
  private waiting: { end: number; go: () => void }[] = [];

  private fd: number;
  private rawFd: number;

  /**
   * `file` opens the image, `rawFile` (when given) the raw disk it is written from: a descriptor of each is
   * held (until {@link close}) and handed out as /proc/self/fd/N, which stays valid while the writer closes
   * its own, the file is renamed into place and the raw disk removed.
   */
  constructor(
    readonly virtualSize: number,
    readonly compression: CompressionType,
    readonly level: number,
    readonly held: ReadonlyMap<number, readonly [number, number]>,
    file: string,
    rawFile?: string,
  ) {
    this.fd = openSync(file, 'r');
    this.rawFd = rawFile === undefined ? -1 : openSync(rawFile, 'r');
  }

  path(): string | undefined {
    return this.fd >= 0 ? `/proc/self/fd/${this.fd}` : undefined;
  }

  raw(): string | undefined {
    return this.fd >= 0 && this.rawFd >= 0 ? `/proc/self/fd/${this.rawFd}` : undefined;
  }

  reached(end: number): Promise<void> {
    if (end <= this.placed) return Promise.resolve();
    return new Promise((go) => this.waiting.push({ end, go }));
  }

  /** The writer has written every cluster below `end`. */
  advance(end: number): void {
    this.placed = Math.max(this.placed, end);
    this.release((w) => w.end <= this.placed);
  }

  /** The writer is done; when it failed, readers go on without the image. */
  finish(ok: boolean): void {
    if (!ok) this.close();
    this.placed = Number.POSITIVE_INFINITY;
    this.release(() => true);
  }

  /** Lets go of the image: readers from now on compress on their own. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    if (this.rawFd >= 0) closeSync(this.rawFd);
    this.fd = -1;
    this.rawFd = -1;
  }

  private release(ready: (w: { end: number }) => boolean): void {
    const [go, stay] = [this.waiting.filter(ready), this.waiting.filter((w) => !ready(w))];
    this.waiting = stay;
    for (const w of go) w.go();
  }
}
