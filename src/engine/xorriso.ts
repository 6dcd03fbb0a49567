/** xorriso: the hybrid ISO, NoCloud seed images, and reading El Torito entries back. */
import { run } from './exec.js';

export interface HybridIsoOptions {
  root: string;
  out: string;
  volid: string;
  /** Path inside `root` of the i386-pc El Torito image (cdboot + core). */
  biosImage: string;
  /** The isohybrid MBR template (grub's boot_hybrid.img). */
  mbrTemplate: string;
  /** FAT ESP image appended as partition 2 and used as the UEFI El Torito image. */
  espImage: string;
  /** Seconds since the epoch for every timestamp and the volume uuid. */
  sourceDateEpoch: number;
  logFile?: string;
  signal?: AbortSignal;
}

/** `YYYYMMDDhhmmss00` as ISO 9660 volume dates want it. */
export function isoDate(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}00`;
}

/**
 * Writes a BIOS + UEFI bootable hybrid ISO 9660 (level 3, Rock Ridge, Joliet) image.
 * @throws BuildError with xorriso's output tail.
 */
export async function makeHybridIso(o: HybridIsoOptions): Promise<void> {
  const date = isoDate(o.sourceDateEpoch);
  await run(
    'xorriso',
    [
      '-as',
      'mkisofs',
      '-iso-level',
      '3',
      '-full-iso9660-filenames',
      '-R',
      // Owned by root whoever cuts: a cut by a non-root user (the tool container) gives the same ISO as root's.
      '-uid',
      '0',
      '-gid',
      '0',
      '-J',
      '-joliet-long',
      '-volid',
      o.volid,
      `--modification-date=${date}`,
      // Files made during the cut (the config-drive) would otherwise carry the cut's time: same inputs, same ISO.
      '--set_all_file_dates',
      date,
      '--grub2-mbr',
      o.mbrTemplate,
      '-partition_offset',
      '16',
      '--mbr-force-bootable',
      '-append_partition',
      '2',
      '0xef',
      o.espImage,
      '-appended_part_as_gpt',
      '-c',
      'boot/boot.cat',
      '-b',
      o.biosImage,
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
      '--grub2-boot-info',
      '-eltorito-alt-boot',
      '-e',
      '--interval:appended_partition_2:all::',
      '-no-emul-boot',
      '-o',
      o.out,
      o.root,
    ],
    {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(o.sourceDateEpoch) },
      ...(o.logFile ? { logFile: o.logFile } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      captureStdout: false,
    },
  );
}

/** A small ISO 9660 image with volume id `volid` holding `dir` (NoCloud `cidata` seeds). */
export async function makeDataIso(
  dir: string,
  out: string,
  volid: string,
  signal?: AbortSignal,
): Promise<void> {
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-volid', volid, '-o', out, dir], {
    ...(signal ? { signal } : {}),
  });
}

export interface ElToritoEntry {
  platform: 'BIOS' | 'UEFI' | string;
}

/** The El Torito boot entries xorriso reads back from `iso`. @throws BuildError when it is not an ISO. */
export async function reportElTorito(iso: string): Promise<{ entries: ElToritoEntry[]; text: string }> {
  const r = await run('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
  const text = `${r.stdout}\n${r.stderr}`;
  const entries: ElToritoEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^El Torito boot img\s*:\s*\d+\s+(\S+)/.exec(line);
    if (m?.[1]) entries.push({ platform: m[1] });
  }
  return { entries, text };
}

/** The volume id of `iso`. */
export async function volumeId(iso: string): Promise<string> {
  const r = await run('xorriso', ['-indev', iso, '-pvd_info']);
  const m = /Volume Id\s*:\s*(\S+)/.exec(`${r.stdout}\n${r.stderr}`);
  return m?.[1] ?? '';
}

/** Copies one file out of an ISO image. @throws BuildError when it is missing. */
export async function extractFromIso(iso: string, path: string, out: string): Promise<void> {
  await run('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', path, out]);
}
