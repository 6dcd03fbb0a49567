/**
 * The root fills of one cut's bundles. Each bundle's tree is a hard-linked copy of the same unpacked image,
 * so where two bundles lay out a partition alike, most files land on the same blocks with the same bytes.
 * The first fill of a partition's place copies every file and records what went where; a later one skips
 * the runs of the same file versions to the same place (ext4Fill's `base`), and its qcow2 reads those bytes
 * from the first bundle's disk. That disk is held open (its work folder may go first) until the cut ends.
 */
import { closeSync, openSync } from 'node:fs';

/** A finished first fill: its disk (a descriptor's path, valid until {@link FillBases.close}) and its record. */
export interface FillBase {
  raw: string;
  copied: BigUint64Array;
}

/** What a fill got from {@link FillBases.claim}: a base to fill against, or the first place's turn to make one. */
export type FillClaim =
  | { kind: 'base'; base: Promise<FillBase | undefined> }
  | {
      kind: 'first';
      /**
       * Hands the fill's disk and record to later fills (call once its partition is written; the disk must not
       * change there afterwards); with no argument, they go without. Only the first call counts.
       */
      publish: (made?: { raw: string; copied: BigUint64Array }) => void;
    };

export class FillBases {
  private readonly bases = new Map<string, Promise<FillBase | undefined>>();
  private readonly fds: number[] = [];

  /**
   * The claim of a fill of partition place `key` (the disk's size and the partition's sectors): the first
   * claim of a key makes the base, later ones wait for it.
   */
  claim(key: string): FillClaim {
    const known = this.bases.get(key);
    if (known) return { kind: 'base', base: known };
    let settle: (b: FillBase | undefined) => void = () => {};
    this.bases.set(
      key,
      new Promise((resolve) => {
        settle = resolve;
      }),
    );
    let done = false;
    return {
      kind: 'first',
      publish: (made) => {
        if (done) return;
        done = true;
        if (!made) return settle(undefined);
        const fd = openSync(made.raw, 'r');
        this.fds.push(fd);
        settle({ raw: `/proc/self/fd/${fd}`, copied: made.copied });
      },
    };
  }

  /** Lets go of every base disk (the cut is over: no fill or writer reads them any more). */
  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}
