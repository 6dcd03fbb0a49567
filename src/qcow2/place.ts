/**
 * Places compressed batches in the image, in order: compressed clusters packed byte by byte (as qemu packs
 * them), clusters stored as is on the next cluster boundary, all-zero clusters left unallocated. Records
 * the L2 entries and the host clusters' refcounts for the metadata written at the end.
 */
import { CLUSTER_SIZE, compressedEntry, ENTRIES_PER_TABLE, standardEntry } from './format.js';
import type { Piece } from './layout.js';
import { Refcounts } from './refcounts.js';

export interface PlacementStats {
  compressed: number;
  stored: number;
  zero: number;
}

export class Placement {
  readonly l2Tables = new Map<number, Buffer>();
  readonly refcounts = new Refcounts();
  readonly stats: PlacementStats = { compressed: 0, stored: 0, zero: 0 };
  /** Next free byte; cluster 0 is the header's. */
  end = CLUSTER_SIZE;
  /** Guest cluster index → host offset and size (as in a batch's sizes) of every data cluster placed. */
  readonly held = new Map<number, readonly [number, number]>();

  /**
   * Places one batch: `sizes[i]` and the bytes in `data` describe the cluster at guest offset `offsets[i]`.
   * Returns the writes, contiguous runs merged.
   */
  place(offsets: Float64Array, sizes: Int32Array, data: Uint8Array): Piece[] {
    const pieces: Piece[] = [];
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let from = 0;
    let runStart = -1;
    let runFrom = 0;
    const close = (): void => {
      if (runStart >= 0) pieces.push({ offset: runStart, bytes: bytes.subarray(runFrom, from) });
      runStart = -1;
    };
    for (let i = 0; i < offsets.length; i++) {
      const size = sizes[i] as number;
      if (size === 0) {
        this.stats.zero++;
        continue;
      }
      let entry: bigint;
      let length: number;
      if (size > 0) {
        length = size;
        entry = compressedEntry(this.end, length);
        this.refcounts.addRange(this.end, length);
        this.stats.compressed++;
      } else {
        length = -size;
        const aligned = Math.ceil(this.end / CLUSTER_SIZE) * CLUSTER_SIZE;
        if (aligned !== this.end) close();
        this.end = aligned;
        entry = standardEntry(this.end);
        this.refcounts.add(this.end / CLUSTER_SIZE);
        this.stats.stored++;
      }
      if (runStart < 0) {
        runStart = this.end;
        runFrom = from;
      }
      this.setEntry((offsets[i] as number) / CLUSTER_SIZE, entry);
      this.held.set((offsets[i] as number) / CLUSTER_SIZE, [this.end, size]);
      this.end += length;
      from += length;
    }
    close();
    return pieces;
  }

  private setEntry(guestCluster: number, entry: bigint): void {
    const index = Math.floor(guestCluster / ENTRIES_PER_TABLE);
    let table = this.l2Tables.get(index);
    if (!table) {
      table = Buffer.alloc(CLUSTER_SIZE);
      this.l2Tables.set(index, table);
    }
    table.writeBigUInt64BE(entry, (guestCluster % ENTRIES_PER_TABLE) * 8);
  }
}
