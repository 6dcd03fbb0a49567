/**
 * GRUB boot images for a live CD, made on the host with grub-mkstandalone (no loop mount, no root needed):
 * an i386-pc El Torito image and a FAT ESP image holding EFI/BOOT/BOOTX64.EFI (mkfs.vfat + mtools).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';

export interface GrubImagesOptions {
  /** Early config embedded in both images: finds the media and loads its grub.cfg. */
  embeddedCfg: string;
  /** Folder the images are written to: `bios.img`, `efi.img` (and scratch files). */
  outDir: string;
  logFile: string;
  signal?: AbortSignal;
}

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
  const graft = `boot/grub/grub.cfg=${o.embeddedCfg}`;
  const bios = join(o.outDir, 'bios.img');
  await run(
    'grub-mkstandalone',
    [
      '--format=i386-pc-eltorito',
      `--output=${bios}`,
      `--install-modules=${[...MODULES, 'biosdisk'].join(' ')}`,
      // Preloaded: the serial console must work before anything is loaded from the CD.
      `--modules=${['biosdisk', 'iso9660', 'search', 'search_fs_file', 'configfile', 'normal', 'serial', 'terminal'].join(' ')}`,
      '--locales=',
      '--fonts=',
      '--themes=',
      graft,
    ],
    common,
  );
  const efiBin = join(o.outDir, 'BOOTX64.EFI');
  await run(
    'grub-mkstandalone',
    [
      '--format=x86_64-efi',
      `--output=${efiBin}`,
      `--install-modules=${[...MODULES, 'efi_gop', 'efi_uga'].join(' ')}`,
      `--modules=${['iso9660', 'part_gpt', 'part_msdos', 'fat', 'search', 'search_fs_file', 'configfile', 'normal', 'serial', 'terminal'].join(' ')}`,
      '--locales=',
      '--fonts=',
      '--themes=',
      graft,
    ],
    common,
  );
  const efi = join(o.outDir, 'efi.img');
  // FAT12/16 needs some slack for directories and the FAT itself.
  const kib = Math.ceil(((await stat(efiBin)).size * 1.1) / 1024) + 512;
  await run('mkfs.vfat', ['-C', '-n', 'AIRSHIP_EFI', efi, String(kib)], common);
  await run('mmd', ['-i', efi, '::/EFI', '::/EFI/BOOT'], common);
  await run('mcopy', ['-i', efi, efiBin, '::/EFI/BOOT/BOOTX64.EFI'], common);
  return { bios, efi };
}
