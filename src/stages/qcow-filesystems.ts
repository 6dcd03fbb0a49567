/**
 * The filesystems of one bundle's disk, made side by side in place; the root's against another bundle's fill
 * of the same place when the cut has one (stages/fill-bases.ts).
 */
import type { QcowBundle } from '../config/types.js';
import { needsFakeroot } from '../engine/tar-extract.js';
import type { ProgressListener } from '../progress.js';
import type { FillBases } from './fill-bases.js';
import { inLanes } from './lanes.js';
import { type FilesystemInput, makeFilesystem } from './qcow-filesystem.js';
import type { DiskPlan, PlannedPartition } from './qcow-layout.js';

/** What the filesystems take from the bundle's cut (see QcowCutInput). */
export interface FilesystemsInput {
  bundle: QcowBundle;
  plan: DiskPlan;
  sourceDateEpoch: number;
  onProgress?: ProgressListener;
  fillBases?: FillBases;
}

/**
 * Every partition's filesystem, side by side (each has its own bytes of the disk); the ESP takes GRUB's EFI
 * image once made.
 * @returns the base the root's fill was made against, if any
 */
export async function makeFilesystems(
  i: FilesystemsInput,
  c: {
    raw: string;
    work: string;
    state: string;
    stage: string;
    /** Partition number → its tree. */
    parts: Map<number, string>;
    step: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
    opts: { logFile?: string; signal?: AbortSignal };
    /** Puts GRUB's EFI image in the ESP's tree (once it is made). */
    placeEfi: (dir: string, mount: string) => Promise<void>;
  },
): Promise<DiskBase | undefined> {
  const withFs = i.plan.partitions.filter((p) => p.fs);
  let base: DiskBase | undefined;
  await inLanes(withFs, withFs.length, (p) => {
    const fsInput: FilesystemInput = {
      dir: c.parts.get(p.number) as string,
      raw: c.raw,
      work: c.work,
      state: c.state,
      sourceDateEpoch: i.sourceDateEpoch,
      stage: c.stage,
      ...(i.onProgress ? { onProgress: i.onProgress } : {}),
      ...c.opts,
    };
    return c.step(`mkfs ${p.mount}`, async () => {
      if (p.number === i.plan.esp.number) await c.placeEfi(fsInput.dir, p.mount);
      if (p.number === i.plan.root.number) base = await makeRoot(p, fsInput, i);
      else await makeFilesystem(p, fsInput);
    });
  });
  return base;
}

/** Another bundle's disk holding some of this disk's bytes: [start, end) pairs of `ranges` (see fill-bases.ts). */
export type DiskBase = { raw: string; ranges: Float64Array };

/**
 * The root's filesystem; as root, with the cut's built-in qcow2 writer, against the first fill of the same
 * place in another bundle (or as that first fill, for later ones).
 * @returns the base the qcow2 writer reads the skipped runs from, when runs were skipped
 */
async function makeRoot(
  p: PlannedPartition,
  fsInput: FilesystemInput,
  i: FilesystemsInput,
): Promise<DiskBase | undefined> {
  const bases = i.fillBases;
  if (!bases || p.fs?.type !== 'ext4' || needsFakeroot() || i.bundle.qcow.qcow_writer === 'qemu-img') {
    await makeFilesystem(p, fsInput);
    return undefined;
  }
  const claim = bases.claim(`${i.plan.capacityBytes}:${p.startSector}:${p.sectors}`);
  if (claim.kind === 'first') {
    try {
      const filled = await makeFilesystem(p, fsInput);
      claim.publish(filled?.copied ? { raw: fsInput.raw, copied: filled.copied } : undefined);
    } finally {
      claim.publish();
    }
    return undefined;
  }
  const base = await claim.base;
  const filled = await makeFilesystem(p, { ...fsInput, ...(base ? { base: base.copied } : {}) });
  const same = filled?.same;
  if (!base || !same?.length) return undefined;
  let bytes = 0;
  for (let k = 0; k + 1 < same.length; k += 2) bytes += (same[k + 1] as number) - (same[k] as number);
  i.onProgress?.({
    stage: fsInput.stage,
    kind: 'info',
    message: `${p.mount}: ${Math.round(bytes / 2 ** 20)} MiB of files not copied again: another bundle's disk holds them at the same place`,
  });
  return { raw: base.raw, ranges: same };
}
