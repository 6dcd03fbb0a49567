/**
 * Cutting one QCOW2 from a root filesystem, entirely in user space: unpack it (or take a hard-linked copy of
 * a tree unpacked once and apply the bundle's osconfig layer), split the tree by mount point, make each
 * filesystem in place in a sparse raw GPT disk, put GRUB in place for BIOS (core image in the bios_grub
 * partition) and UEFI (on the ESP), then write the qcow2 from the disk's data extents.
 */

import { mkdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QcowBundle } from '../config/types.js';
import { withContainer } from '../engine/container-io.js';
import { removeTree } from '../engine/remove-tree.js';
import { streamRootfs } from '../engine/rootfs-stream.js';
import { writePartitionTable } from '../engine/sfdisk.js';
import { linkCopy } from '../engine/tree-copy.js';
import { BuildError } from '../errors.js';
import { leaseTag } from '../lease.js';
import type { ProgressListener } from '../progress.js';
import type { Qcow2WriteResult } from '../qcow2/write.js';
import { writeAtomically } from './artifact.js';
import { patchCoreImg, patchMbr } from './bios-boot.js';
import { ETC_HOSTNAME, ETC_HOSTS } from './etc-files.js';
import type { FillBases } from './fill-bases.js';
import { grubCfg } from './grub-config.js';
import { type GrubImages, grubImagesFrom, type SharedGrubImages, touchesGrubModules } from './grub-images.js';
import { applyLayer } from './layer.js';
import type { OsconfigLayer } from './osconfig.js';
import { convertDisk, type WrittenImages } from './qcow-convert.js';
import { type DiskBase, makeFilesystems } from './qcow-filesystems.js';
import { type DiskPlan, extractionOrder, type PlannedPartition, SECTOR } from './qcow-layout.js';
import { ImageTree, refuseLinksIn } from './tree-fs.js';
import { copyTreeXattrs, unpackTar, xattrsFileOf } from './tree-xattrs.js';

export interface QcowCutInput {
  bundle: QcowBundle;
  plan: DiskPlan;
  /** The tree extracted once from the image (see {@link extractRootfs}) and this bundle's osconfig layer. */
  rootfs: SharedTree;
  outFile: string;
  /** Scratch space; a folder is made inside and removed afterwards. */
  scratchDir: string;
  sourceDateEpoch: number;
  /** Parallel compression (all workers, or qemu-img's `-m 8 -W`); off only for comparison runs. */
  parallelConvert?: boolean;
  logFile?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** The images the cut's other bundles wrote so far (their identical clusters are copied, not compressed). */
  written?: WrittenImages;
  /**
   * GRUB's images made once per layout from `rootfs.tree`, used unless the bundle's layer touched the module
   * folders; without it, each cut makes its own from its tree.
   */
  grub?: SharedGrubImages;
  /** The cut's root fills: a later bundle's root fill skips what an earlier one copied to the same place. */
  fillBases?: FillBases;
}

/** A tree unpacked once for all bundles of a cut, and one bundle's osconfig layer. */
export interface SharedTree {
  /** The extracted tree; never changed by a cut (each works on a hard-linked copy). */
  tree: string;
  /** fakeroot state of the extraction (used when not root); each cut works on a copy of it. */
  stateFile: string;
  /**
   * The bundle's layer, possibly still being made: the tree is copied and the disk laid out meanwhile. When it
   * fails, the cut fails with its error as it is.
   */
  layer: Promise<OsconfigLayer>;
}

/** The layer's own failure, carried past the cut's wrapping of its errors. */
class LayerFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Left out of the target disk: the live-CD tree the image carries for ISO cuts, and the marker Docker adds to
 * every container (systemd would take the booted machine for a Docker container and cloud-init's generator
 * would stay off). Tree-relative paths.
 */
const EXCLUDED_PATHS = ['livecd', '.dockerenv'];

/** Docker's placeholders in an export, never the image's (see {@link dockerPlaceholders}). */
const EXPORT_PLACEHOLDERS = ['dev/*', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf'];

/**
 * Unpacks image `ref`'s root filesystem into `dir`/tree once, for all bundles of a cut (their layers are
 * applied to hard-linked copies): streamed by the image's own tar (engine/rootfs-stream), or, when that gives
 * no stream, by `docker export` into a clean tree (`onNote` says why). `dir` must exist and be empty.
 * @throws BuildError from Docker or tar.
 */
export async function extractRootfs(
  ref: string,
  dir: string,
  o: { labels: Record<string, string>; signal?: AbortSignal; onNote?: (message: string) => void },
): Promise<{ tree: string; stateFile: string }> {
  const tree = join(dir, 'tree');
  const stateFile = join(dir, 'fakeroot.state');
  const signal = o.signal ? { signal: o.signal } : {};
  const fresh = async () => {
    await removeTree(tree);
    await rm(xattrsFileOf(stateFile), { force: true });
    await mkdir(tree);
    await writeFile(stateFile, '');
  };
  await fresh();
  const streamed = await streamRootfs(
    { ref, labels: o.labels, exclude: EXCLUDED_PATHS, folder: join(dir, 'stream'), ...signal },
    (fifo) => unpackTar({ file: fifo }, tree, { stateFile, ...signal }),
  );
  if (!streamed.ok) {
    o.onNote?.(
      `the image's tar gave no stream of its files (${streamed.reason}): exported through Docker (slower)`,
    );
    await fresh();
    await withContainer(ref, o.labels, async (c) =>
      unpackTar(await c.export(), tree, {
        stateFile,
        exclude: [...EXCLUDED_PATHS, ...EXPORT_PLACEHOLDERS].flatMap((p) => [p, `./${p}`]),
        ...signal,
      }),
    );
  }
  dockerPlaceholders(tree);
  return { tree, stateFile };
}

/**
 * What Docker hides behind its mounts in every container, put back as the image had it: the mount points /dev,
 * /proc and /sys (empty), /etc/hostname and /etc/hosts as the rootfs stage wrote them. /etc/resolv.conf stays
 * out: the rootfs stage writes none, and an empty one means the same to the resolver.
 */
function dockerPlaceholders(tree: string): void {
  const img = ImageTree.open(tree);
  try {
    for (const d of ['dev', 'proc', 'sys']) if (!img.lstat(d)) img.mkdirp(d);
    img.writeFile('etc/hostname', ETC_HOSTNAME);
    img.writeFile('etc/hosts', ETC_HOSTS);
  } finally {
    img.close();
  }
}

export interface QcowCutResult {
  file: string;
  kernelVersion: string;
  timings: Record<string, number>;
}

/** @throws BuildError naming the step that failed; nothing is left at `outFile` then. */
export async function cutQcow(i: QcowCutInput): Promise<QcowCutResult> {
  const stage = `qcow:${i.bundle.name}`;
  const timings: Record<string, number> = {};
  const work = await mkdtemp(join(i.scratchDir, `cut-${i.bundle.name}-${leaseTag()}-`));
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    if (i.signal?.aborted) throw new BuildError(`${stage}: aborted`, { stage });
    i.onProgress?.({ stage, kind: 'progress', message: name });
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[name] = Date.now() - t0;
    }
  };
  const opts = { ...(i.logFile ? { logFile: i.logFile } : {}), ...(i.signal ? { signal: i.signal } : {}) };
  let image: ImageTree | undefined;
  let grub: Promise<GrubImages> | undefined;
  let trees: Promise<unknown> | undefined;
  const tree = join(work, 'tree');
  const state = join(work, 'fakeroot.state');
  const raw = join(work, 'disk.raw');
  // Neither needs the layer: both are done while the bundle's osconfig may still run. Both settle before a
  // failure of either is thrown (the work folder goes only then).
  const early = Promise.allSettled([
    step('copy tree', () => copyTree(i.rootfs, tree, state, opts)),
    step('partition table', () => blankDisk(raw, i.plan, opts)),
  ]).then((rs) => {
    for (const r of rs) if (r.status === 'rejected') throw r.reason;
  });
  early.catch(() => undefined);
  // Begun now, while the layer may still be made: used unless the layer touches GRUB's module folders.
  const shared = i.grub?.forPlan(i.plan);
  try {
    const layer = await i.rootfs.layer.catch((err: unknown) => {
      throw new LayerFailure(err);
    });
    await early;
    const touched = await step('osconfig layer', () =>
      applyLayer(tree, layer, { stateFile: state, excluded: EXCLUDED_PATHS, ...opts }),
    );
    // Every later access to the tree goes through `image`: the image's own symlinks are never followed.
    const img = ImageTree.open(tree);
    image = img;
    const kernelVersion = await step('boot files', async () => {
      const kver = prepareBoot(img, i);
      grub = shared && !touchesGrubModules(touched) ? shared : ownGrubImages(img, work, i.plan, opts);
      grub.catch(() => undefined);
      return kver;
    });
    const images = grub as Promise<GrubImages>;
    const parts = await step('split', async () => splitTree(img, work, i.plan));

    const base = await makeFilesystems(i, {
      raw,
      work,
      state,
      stage,
      parts,
      step,
      opts,
      placeEfi: async (dir, mount) => placeEfiImage((await images).efiImg, dir, mount),
    });
    await step('bios boot', async () => placeBiosBoot(await images, raw, i.plan));
    // The trees are in the disk now: they go while it is compressed, not after.
    image.close();
    image = undefined;
    trees = removeTree(...parts.values());
    trees.catch(() => undefined);
    await step('convert', () => writeQcow(i, raw, stage, { ...opts, ...(base ? { base } : {}) }));
    return { file: i.outFile, kernelVersion, timings };
  } catch (err) {
    if (err instanceof LayerFailure) throw err.error;
    if (err instanceof BuildError)
      throw new BuildError(`${stage}: ${err.message}`, { stage, ...err.details }, { cause: err });
    throw new BuildError(`${stage}: ${(err as Error).message}`, { stage }, { cause: err });
  } finally {
    await early.catch(() => undefined);
    image?.close();
    // grub-mkimage writes into the work folder: it ends before the folder goes.
    await grub?.catch(() => undefined);
    await trees?.catch(() => undefined);
    await removeTree(work);
  }
}

/** The qcow2 from the raw disk, written atomically at `i.outFile`; clusters copied from another bundle reported. */
async function writeQcow(
  i: QcowCutInput,
  raw: string,
  stage: string,
  opts: { logFile?: string; signal?: AbortSignal; base?: DiskBase },
): Promise<void> {
  let written: Qcow2WriteResult | undefined;
  await writeAtomically(i.outFile, async (tmp) => {
    written = await convertDisk(raw, tmp, i.bundle.qcow, {
      stage,
      parallel: i.parallelConvert ?? true,
      ...(i.written ? { written: i.written } : {}),
      ...(i.onProgress ? { onProgress: i.onProgress } : {}),
      ...opts,
    });
  });
  if (written?.reused)
    i.onProgress?.({
      stage,
      kind: 'info',
      message: `${written.reused} of ${written.compressed + written.stored} clusters copied from an earlier bundle's image (same bytes)`,
    });
}

/** The bundle's tree at `tree`: a hard-linked copy of the shared tree (its layer goes on later). */
async function copyTree(
  src: SharedTree,
  tree: string,
  state: string,
  opts: { logFile?: string; signal?: AbortSignal },
): Promise<void> {
  await copyFile(src.stateFile, state);
  await copyTreeXattrs(src.stateFile, state);
  await linkCopy(src.tree, tree, { stateFile: state, ...opts });
}

/** The sparse raw disk with its GPT. */
async function blankDisk(raw: string, plan: DiskPlan, opts: { logFile?: string; signal?: AbortSignal }) {
  await writeFile(raw, '');
  await truncate(raw, plan.capacityBytes);
  await writePartitionTable(raw, plan.sfdiskScript, opts);
}

const EFI_IMAGE = 'BOOTX64.EFI';

/**
 * fstab and grub.cfg in the tree (GRUB's images are made apart, see stages/grub-images).
 * @returns the kernel version grub.cfg boots
 */
function prepareBoot(img: ImageTree, i: QcowCutInput): string {
  const kernels = (img.lstat('boot') ? img.readdir('boot') : [])
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const kver = kernels.at(-1);
  if (!kver) throw new BuildError('the image has no kernel in /boot (install linux-image-* in the build)');
  // grub.cfg boots these by name; a link could point at anything once the disk boots.
  for (const f of [`boot/vmlinuz-${kver}`, `boot/initrd.img-${kver}`]) {
    const st = img.lstat(f);
    if (st && !st.isFile())
      throw new BuildError(
        `the image's ${img.shown(f)} is ${st.isSymbolicLink() ? 'a symlink' : 'not a regular file'}; the kernel and initrd must be regular files`,
      );
  }
  img.writeFile('etc/fstab', i.plan.fstab);
  img.writeFile('boot/grub/grub.cfg', grubCfg(i.plan, kver, i.bundle.osconfig));
  // Its place taken now, as a regular file: whatever the image has there (a link) is gone before the split
  // checks the ESP for links; the image is written into it once made.
  img.writeFile(`${i.plan.esp.mount}/EFI/BOOT/${EFI_IMAGE}`, '');
  return kver;
}

/**
 * GRUB's images from the bundle's own tree (its layer changed the module folders), made in `work`/grub. The
 * folders are copied at once, before the split moves any folder out.
 */
function ownGrubImages(
  img: ImageTree,
  work: string,
  plan: DiskPlan,
  opts: { logFile?: string; signal?: AbortSignal },
): Promise<GrubImages> {
  const dir = join(work, 'grub');
  mkdirSync(dir);
  return grubImagesFrom(img, dir, plan, opts);
}

/** GRUB's BIOS boot code: boot.img in the MBR, the core image in the bios_grub partition. */
async function placeBiosBoot(images: GrubImages, raw: string, plan: DiskPlan): Promise<void> {
  const core = patchCoreImg(images.coreImg, plan.biosGrub.startSector, plan.biosGrub.sectors);
  const fh = await open(raw, 'r+');
  try {
    const mbr = Buffer.alloc(SECTOR);
    await fh.read(mbr, 0, SECTOR, 0);
    await fh.write(patchMbr(mbr, images.bootImg, plan.biosGrub.startSector), 0, SECTOR, 0);
    await fh.write(core, 0, core.length, plan.biosGrub.startSector * SECTOR);
  } finally {
    await fh.close();
  }
}

/** GRUB's EFI image as the removable-media loader of the ESP at `espDir`. */
function placeEfiImage(efiImg: Buffer, espDir: string, mount: string): void {
  const esp = ImageTree.open(espDir, mount);
  try {
    esp.writeFile(`EFI/BOOT/${EFI_IMAGE}`, efiImg);
  } finally {
    esp.close();
  }
}

/**
 * Moves each nested mount's subtree out (deepest first) and leaves an empty mount point behind. A mount point
 * the image has as a symlink or a file is refused: moving it would move a link, not a folder.
 */
function splitTree(img: ImageTree, work: string, plan: DiskPlan): Map<number, string> {
  const dirs = new Map<number, string>([[plan.root.number, img.root]]);
  for (const p of extractionOrder(plan)) {
    const dst = join(work, `fs-${p.number}`);
    const st = img.lstat(p.mount);
    if (st?.isDirectory()) img.moveOut(p.mount, dst);
    else if (st)
      throw new BuildError(
        `the image's ${img.shown(p.mount)} is ${st.isSymbolicLink() ? 'a symlink' : 'not a folder'}; a mount point must be a folder`,
      );
    else mkdirSync(dst);
    img.mkdirp(p.mount, 0o755);
    // mcopy follows links (FAT has none to keep): refused before any filesystem is made.
    if (p.fs?.type === 'vfat') refuseLinksIn(dst, p.mount);
    dirs.set(p.number, dst);
  }
  return dirs;
}

export type { PlannedPartition };
