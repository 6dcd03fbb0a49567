/**
 * One partition's filesystem made from its unpacked tree, in place in the cut's raw disk.
 */
import { rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debugfsWrite } from '../engine/debugfs.js';
import { mkExt4, mkVfat, mkXfs } from '../engine/mkfs.js';
import { needsFakeroot } from '../engine/tar-extract.js';
import type { ProgressListener } from '../progress.js';
import { copyDataExtents } from '../qcow2/copy-extents.js';
import { clampMtimes } from './clamp-times.js';
import { type Ext4FillResult, fillExt4 } from './ext4-fill.js';
import { readFakerootState } from './fakeroot-state.js';
import { type PlannedPartition, SECTOR } from './qcow-layout.js';
import { ImageTree } from './tree-fs.js';
import { ext4XattrCommands, loadTreeXattrs, xattrsFileOf } from './tree-xattrs.js';
import { xfsProtofile } from './xfs-proto.js';

export interface FilesystemInput {
  /** The unpacked tree of the partition. */
  dir: string;
  /** The raw disk; the filesystem goes at the partition's offset. */
  raw: string;
  /** Scratch folder of the cut. */
  work: string;
  /** fakeroot state of the tree (used when not root). */
  state: string;
  sourceDateEpoch: number;
  /** An ext4 fill's base (see stages/fill-bases.ts). */
  base?: BigUint64Array;
  /** Stage name for warnings, e.g. `qcow:control-plane`. */
  stage: string;
  onProgress?: ProgressListener;
  logFile?: string;
  signal?: AbortSignal;
}

/**
 * Makes partition `p`'s filesystem from `i.dir`. ext4 and vfat are written in place at the partition's
 * offset in the disk; mkfs.xfs cannot write at an offset, so xfs is made in a file and copied in by its data
 * extents. ext4 is filled by the addon (see stages/ext4-fill.ts).
 * @returns the ext4 fill's result (undefined for other filesystems)
 */
export async function makeFilesystem(
  p: PlannedPartition,
  i: FilesystemInput,
): Promise<Ext4FillResult | undefined> {
  const fs = p.fs;
  if (!fs) return undefined;
  const { dir, raw, work, state } = i;
  const opts = { ...(i.logFile ? { logFile: i.logFile } : {}), ...(i.signal ? { signal: i.signal } : {}) };
  const at = { offset: p.startSector * SECTOR, bytes: p.sectors * SECTOR };
  const common = { uuid: fs.uuid, sourceDateEpoch: i.sourceDateEpoch, fakerootState: state, ...opts };
  if (fs.type === 'ext4') {
    await mkExt4({ ...common, file: raw, at });
    const epoch = i.sourceDateEpoch;
    const filled = await fillExt4({
      disk: raw,
      offset: at.offset,
      root: dir,
      mount: p.mount,
      ...common,
      ...(i.base ? { base: i.base } : {}),
    });
    // Without root the tree has no xattrs (stages/tree-xattrs.ts): they are set here, as the fill sets them
    // from the files as root (the same libext2fs call, so the same bytes).
    const xattrs = needsFakeroot() ? await xattrCommands(state, p.mount, dir, work) : '';
    if (xattrs) await debugfsWrite(raw, at.offset, epoch, join(work, 'ext4-xattrs.cmd'), xattrs, opts);
    return filled;
  }
  clampMtimes(dir, i.sourceDateEpoch);
  if (fs.type === 'vfat') {
    await mkVfat({ ...common, file: raw, at, dir });
    return undefined;
  }
  const proto = await xfsProtofile(dir, needsFakeroot() ? readFakerootState(state) : new Map());
  if (proto.skipped.length)
    i.onProgress?.({
      stage: i.stage,
      kind: 'warning',
      message: `xfs ${p.mount}: ${proto.skipped.length} entries with blanks in their names left out`,
    });
  const pf = join(work, `part-${p.number}.proto`);
  await writeFile(pf, proto.text);
  const img = join(work, `part-${p.number}.img`);
  await writeFile(img, '');
  await truncate(img, at.bytes);
  await mkXfs({ ...common, file: img, protofile: pf });
  await copyDataExtents(img, raw, at.offset);
  await rm(img);
  return undefined;
}

/** debugfs commands giving the files of the partition at `mount` (unpacked to `dir`) their recorded xattrs. */
async function xattrCommands(state: string, mount: string, dir: string, work: string): Promise<string> {
  const img = ImageTree.open(dir);
  try {
    return await ext4XattrCommands(
      loadTreeXattrs(xattrsFileOf(state)),
      mount,
      (rel) => !!img.lstat(rel),
      work,
    );
  } finally {
    img.close();
  }
}
