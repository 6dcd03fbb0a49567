/**
 * GRUB's boot code for a QCOW disk: boot.img for the MBR and the BIOS core image (both from the image's i386-pc
 * modules), and the EFI image (x86_64-efi). They depend only on the image's module folders and the disk's
 * layout, so the bundles of one cut that share a layout, and whose osconfig layer leaves the module folders
 * alone, share one set made from the cut's tree while the first bundle's layer is still being made.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { grubMkimage } from '../engine/grub-mkimage.js';
import { BuildError } from '../errors.js';
import { BIOS_MODULES, bootPathOn, EFI_MODULES, earlyConfig } from './grub-config.js';
import type { DiskPlan } from './qcow-layout.js';
import { ImageTree } from './tree-fs.js';

export interface GrubImages {
  /** GRUB's MBR code (boot.img), to be patched with the core image's place. */
  bootImg: Buffer;
  /** The BIOS core image, to be patched with its own place. */
  coreImg: Buffer;
  /** The removable-media loader of the ESP (BOOTX64.EFI). */
  efiImg: Buffer;
}

/** The image's module folders grub-mkimage reads: image-relative. */
const MODULE_DIRS = { bios: 'usr/lib/grub/i386-pc', efi: 'usr/lib/grub/x86_64-efi' } as const;

/**
 * Whether a layer that touched the tree-relative `paths` (entries and deletions) may have changed what
 * grub-mkimage reads: a path in or below a module folder, or one of the folders above it.
 */
export function touchesGrubModules(paths: readonly string[]): boolean {
  return Object.values(MODULE_DIRS).some((dir) =>
    paths.some((p) => p === dir || p.startsWith(`${dir}/`) || dir.startsWith(`${p}/`)),
  );
}

/** Where the module folders are copied to in the work folder. */
const BIOS_COPY = 'grub-i386-pc';
const EFI_COPY = 'grub-x86_64-efi';

/**
 * GRUB's images for `plan` from the module folders of `img`, made in `work` (an existing folder of ours). The
 * folders are copied before this returns, without following any link (grub-mkimage would read whatever a link
 * in them points at), so the caller may change or close the tree at once.
 * @throws BuildError (as a rejection) when the image lacks a module folder or has a link on the way to one, or
 *   grub-mkimage's.
 */
export async function grubImagesFrom(
  img: ImageTree,
  work: string,
  plan: DiskPlan,
  opts: { logFile?: string; signal?: AbortSignal },
): Promise<GrubImages> {
  // Before the first await: the copy is done when the call returns.
  copyModules(img, work);
  return makeImages(work, plan, opts);
}

function copyModules(img: ImageTree, work: string): void {
  for (const d of Object.values(MODULE_DIRS))
    if (!img.lstat(d))
      throw new BuildError(`the image lacks /${d} (install grub-pc-bin and grub-efi-amd64-bin in the build)`);
  img.copyFolderOut(MODULE_DIRS.bios, join(work, BIOS_COPY));
  img.copyFolderOut(MODULE_DIRS.efi, join(work, EFI_COPY));
}

async function makeImages(
  work: string,
  plan: DiskPlan,
  opts: { logFile?: string; signal?: AbortSignal },
): Promise<GrubImages> {
  const bios = join(work, BIOS_COPY);
  const efi = join(work, EFI_COPY);
  const early = join(work, 'early.cfg');
  await writeFile(early, earlyConfig(plan));
  const common = { earlyConfig: early, prefix: `${bootPathOn(plan)}/grub`, ...opts };
  const core = join(work, 'core.img');
  const loader = join(work, 'BOOTX64.EFI');
  await Promise.all([
    grubMkimage({ format: 'i386-pc', moduleDir: bios, modules: BIOS_MODULES, out: core, ...common }),
    grubMkimage({ format: 'x86_64-efi', moduleDir: efi, modules: EFI_MODULES, out: loader, ...common }),
  ]);
  return {
    bootImg: await readFile(join(bios, 'boot.img')),
    coreImg: await readFile(core),
    efiImg: await readFile(loader),
  };
}

/**
 * One set of images per layout for a cut, made from its shared tree (never changed) on first request. Each set
 * is made in its own folder under `scratch`, removed once made.
 */
export class SharedGrubImages {
  private sets = new Map<string, Promise<GrubImages>>();

  constructor(
    private readonly tree: string,
    private readonly scratch: string,
    private readonly opts: { logFile?: string; signal?: AbortSignal },
  ) {}

  /** The images for `plan`'s layout; its failure is every caller's. */
  forPlan(plan: DiskPlan): Promise<GrubImages> {
    const key = `${bootPathOn(plan)}\0${earlyConfig(plan)}`;
    let set = this.sets.get(key);
    if (!set) {
      set = this.make(plan);
      set.catch(() => undefined);
      this.sets.set(key, set);
    }
    return set;
  }

  /** Settles once every set begun is made or failed (their folders gone). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.sets.values());
  }

  private async make(plan: DiskPlan): Promise<GrubImages> {
    await mkdir(this.scratch, { recursive: true });
    const work = await mkdtemp(join(this.scratch, 'grub-'));
    try {
      const img = ImageTree.open(this.tree);
      let images: Promise<GrubImages>;
      try {
        images = grubImagesFrom(img, work, plan, this.opts);
      } finally {
        img.close();
      }
      return await images;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
