/**
 * GRUB boot images for a live CD, made on the host with grub-mkimage (no loop mount, no root needed): an
 * i386-pc El Torito image and a FAT ESP image holding EFI/BOOT/BOOTX64.EFI (mkfs.vfat + mtools). Every module
 * is built into the image with the early config, as the QCOW cut does: grub-mkstandalone would put them in a
 * memdisk tar stamped with the time it copied them, so no two builds gave the same bytes.
 */
import { stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import { grubMkimage } from './grub-mkimage.js';

export interface GrubImagesOptions {
  /** Early config built into both images: finds the media and loads its grub.cfg. */
  embeddedCfg: string;
  /** Folder the images are written to: `bios.img`, `efi.img` (and scratch files). */
  outDir: string;
  /** Seconds since 1970 for the ESP's times; unset: now. */
  sourceDateEpoch?: number;
  logFile: string;
  signal?: AbortSignal;
}

/** The host's GRUB platform folders. */
const GRUB_LIB = '/usr/lib/grub';

// Only what a live entry needs; every module left out keeps BOOTX64.EFI (and so the ESP) small.
const MODULES = [
  'normal',
  'configfile',
  'linux',
  'search',
  'search_fs_file',
  'iso9660',
  'part_gpt',
  'part_msdos',
  'fat',
  'serial',
  'terminal',
  'echo',
  'test',
  'all_video',
  'gzio',
];

/**
 * Writes `bios.img` (i386-pc-eltorito) and `efi.img` (FAT with EFI/BOOT/BOOTX64.EFI) into `outDir`.
 * @throws BuildError when a grub or mtools command fails.
 */
export async function makeGrubImages(o: GrubImagesOptions): Promise<{ bios: string; efi: string }> {
  const common = { logFile: o.logFile, ...(o.signal ? { signal: o.signal } : {}) };
  // The media's grub.cfg is found by the early config; nothing is loaded from the prefix.
  const image = { earlyConfig: o.embeddedCfg, prefix: '/boot/grub', ...common };
  const bios = join(o.outDir, 'bios.img');
  await grubMkimage({
    format: 'i386-pc-eltorito',
    moduleDir: join(GRUB_LIB, 'i386-pc'),
    modules: [...MODULES, 'biosdisk'],
    out: bios,
    ...image,
  });
  const efiBin = join(o.outDir, 'BOOTX64.EFI');
  await grubMkimage({
    format: 'x86_64-efi',
    moduleDir: join(GRUB_LIB, 'x86_64-efi'),
    modules: [...MODULES, 'efi_gop', 'efi_uga'],
    out: efiBin,
    ...image,
  });
  const efi = join(o.outDir, 'efi.img');
  // FAT12/16 needs some slack for directories and the FAT itself.
  const kib = Math.ceil(((await stat(efiBin)).size * 1.1) / 1024) + 512;
  // With an epoch: mkfs.fat and mtools take their times from SOURCE_DATE_EPOCH, mcopy -m keeps the file's, and
  // mkfs.fat's volume id and label time (otherwise from the clock) are constants, the id the epoch's.
  const epoch = o.sourceDateEpoch;
  const env = epoch === undefined ? process.env : { ...process.env, SOURCE_DATE_EPOCH: String(epoch) };
  const volid = epoch === undefined ? [] : ['--invariant', '-i', (epoch >>> 0).toString(16).padStart(8, '0')];
  if (epoch !== undefined) await utimes(efiBin, epoch, epoch);
  await run('mkfs.vfat', ['-C', '-n', 'AIRSHIP_EFI', ...volid, efi, String(kib)], { ...common, env });
  const mtools = { ...common, env: { ...env, MTOOLS_SKIP_CHECK: '1' } };
  await run('mmd', ['-i', efi, '::/EFI', '::/EFI/BOOT'], mtools);
  await run('mcopy', ['-m', '-i', efi, efiBin, '::/EFI/BOOT/BOOTX64.EFI'], mtools);
  return { bios, efi };
}
