/**
 * livecd stage: the live-CD content stored in the final image under `/livecd/` (the ISO root minus the
 * config-drive), so cut-image needs nothing but the image:
 *
 *   /livecd/.airship-livecd            marker file grub searches for to find the media
 *   /livecd/live/filesystem.squashfs   root of the osconfig'd image minus /boot and /live (live-boot's default path)
 *   /livecd/live/vmlinuz               kernel from the image's /boot
 *   /livecd/live/initrd.img            initrd from the image's /boot (live-boot hooks included)
 *   /livecd/boot/grub/grub.cfg         live entry: {@link LIVE_KERNEL_ARGS}
 *   /livecd/boot/grub/bios.img         i386-pc El Torito image (cdboot.img + standalone core, grub.cfg embedded)
 *   /livecd/boot/grub/efi.img          FAT ESP image with EFI/BOOT/BOOTX64.EFI (x86_64-efi standalone)
 *
 * cut-image makes the ISO from that tree plus the config-drive files with:
 *
 *   xorriso -as mkisofs -iso-level 3 -full-iso9660-filenames -volid config-2 \
 *     -eltorito-boot boot/grub/bios.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info \
 *     --grub2-mbr /usr/lib/grub/i386-pc/boot_hybrid.img \
 *     -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot \
 *     -append_partition 2 0xef <tree>/boot/grub/efi.img -appended_part_as_gpt \
 *     -output ephemeral.iso <tree>
 *
 * (`--grub2-mbr` + `--grub2-boot-info` make it bootable from a disk too; `-boot-info-table` is required by
 * the eltorito image.) Both grub images carry the same early config: search for `/.airship-livecd`, then load
 * `/boot/grub/grub.cfg` from that device, so the volume id (config-2, for cloud-init) does not matter.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { LivecdVars } from '../config/types.js';
import {
  commitContainer,
  createContainer,
  exportContainer,
  getArchive,
  putArchive,
  removeContainer,
  tagImage,
} from '../engine/docker.js';
import { makeGrubImages } from '../engine/grub.js';
import { BuildError } from '../errors.js';
import { leasedName } from '../lease.js';
import { epochOption } from '../source-date-epoch.js';
import { ETC_HOSTNAME, ETC_HOSTS } from './etc-files.js';
import { stageTag } from './image.js';
import { LIVECD_MARKER, LIVECD_ROOT } from './names.js';

/** Writes a squashfs from a tar stream (the native writer; an adapter is handed in by the API). */
export type SquashTar = (
  tar: Readable,
  out: string,
  opts: {
    compressor: LivecdVars['mksquashfs_compression'];
    /** Absolute paths left out with everything below them. */
    exclude: readonly string[];
    level?: number;
    threads: number;
    timeoutSeconds: number;
    logFile: string;
    signal?: AbortSignal;
  },
) => Promise<void>;

export interface LivecdInput {
  /** The osconfig'd image. */
  image: string;
  vars: LivecdVars;
  digest: string;
  cacheDir: string;
  session: string;
  /** Dockerfile instructions for the final commit (OCI labels). */
  changes: readonly string[];
  squash: SquashTar;
  logFile: string;
  signal?: AbortSignal;
  onInfo?: (message: string) => void;
}

export function embeddedGrubCfg(): string {
  return [
    `search --no-floppy --set=root --file /${LIVECD_MARKER}`,
    // Every module is in the image (engine/grub.ts): nothing loads from a prefix.
    'configfile ($root)/boot/grub/grub.cfg',
    '',
  ].join('\n');
}

/**
 * The live kernel's command line: the original's (`nomodeset`, a 70% tmpfs overlay, cgroup v1 for the
 * container runtime of its time, cloud-init told the config drive is its datasource) with both consoles, so
 * the boot is readable on the serial port. `quiet` is left out for the same reason.
 */
export const LIVE_KERNEL_ARGS = [
  'boot=live',
  'components',
  'nomodeset',
  'overlay-size=70%',
  'systemd.unified_cgroup_hierarchy=0',
  'ds=ConfigDrive',
  'console=tty0',
  'console=ttyS0,115200n8',
] as const;

export function liveGrubCfg(timeout: number): string {
  return [
    `search --no-floppy --set=root --file /${LIVECD_MARKER}`,
    'serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1',
    'terminal_input console serial',
    'terminal_output console serial',
    `set timeout=${timeout}`,
    'set default=0',
    '',
    'menuentry "Airship ephemeral (live)" {',
    `    linux /live/vmlinuz ${LIVE_KERNEL_ARGS.join(' ')}`,
    '    initrd /live/initrd.img',
    '}',
    '',
  ].join('\n');
}

/**
 * Left out of the live root: boot files (served from the ISO), live-boot's own mount point, our layer, and the
 * files Docker adds to every container.
 */
export const SQUASHFS_EXCLUDE = [
  '/boot',
  '/live',
  `/${LIVECD_ROOT}`,
  '/.dockerenv',
  '/etc/resolv.conf',
] as const;

/**
 * Docker gives every container empty /etc/hostname and /etc/hosts; written into the container before the export
 * so the live system gets real ones.
 */
function etcLayer(): Readable {
  const pack = tar.pack();
  const at = new Date(0);
  pack.entry({ name: 'etc/hostname', mode: 0o644, mtime: at }, ETC_HOSTNAME);
  pack.entry({ name: 'etc/hosts', mode: 0o644, mtime: at }, ETC_HOSTS);
  pack.finalize();
  return pack as unknown as Readable;
}

function versionKey(v: string): number[] {
  return v
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
}

function newer(a: string, b: string): boolean {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
}

/** Writes the newest kernel and its initrd from a tar of /boot to `dir/vmlinuz`, `dir/initrd.img`. */
async function extractKernel(bootTar: Readable, dir: string): Promise<string> {
  const extract = tar.extract();
  const kernels = new Map<string, Buffer>();
  const initrds = new Map<string, Buffer>();
  extract.on('entry', (h, stream, next) => {
    const base = h.name.replace(/^.*\//, '');
    const k = /^vmlinuz-(.+)$/.exec(base);
    const i = /^initrd\.img-(.+)$/.exec(base);
    if (h.type !== 'file' || (!k && !i)) {
      stream.resume();
      stream.on('end', () => next());
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (k?.[1]) kernels.set(k[1], Buffer.concat(chunks));
      if (i?.[1]) initrds.set(i[1], Buffer.concat(chunks));
      next();
    });
  });
  await pipeline(bootTar, extract);
  let best: string | undefined;
  for (const v of kernels.keys()) if (initrds.has(v) && (!best || newer(v, best))) best = v;
  if (!best)
    throw new BuildError(
      'livecd: the image has no kernel with an initrd in /boot (install a linux-image package and initramfs-tools)',
    );
  await writeFile(join(dir, 'vmlinuz'), kernels.get(best) as Buffer);
  await writeFile(join(dir, 'initrd.img'), initrds.get(best) as Buffer);
  return best;
}

async function fileEntry(pack: tar.Pack, name: string, path: string, mode = 0o644): Promise<void> {
  const { size } = await stat(path);
  await new Promise<void>((resolve, reject) => {
    const w = pack.entry({ name, size, mode, uid: 0, gid: 0, mtime: new Date(0) }, (err) =>
      err ? reject(err) : resolve(),
    );
    createReadStream(path).on('error', reject).pipe(w);
  });
}

/** The `/livecd` layer as a tar stream (streamed from the files in `dir`). */
function livecdLayer(dir: string, grubCfg: string): Readable {
  const pack = tar.pack();
  const dirEntry = (name: string) => pack.entry({ name, type: 'directory', mode: 0o755, mtime: new Date(0) });
  (async () => {
    for (const d of ['', 'live', 'boot', 'boot/grub']) dirEntry(`${LIVECD_ROOT}/${d}`.replace(/\/$/, ''));
    pack.entry(
      { name: `${LIVECD_ROOT}/${LIVECD_MARKER}`, mode: 0o644, mtime: new Date(0) },
      'airship-image-builder live CD\n',
    );
    pack.entry({ name: `${LIVECD_ROOT}/boot/grub/grub.cfg`, mode: 0o644, mtime: new Date(0) }, grubCfg);
    await fileEntry(pack, `${LIVECD_ROOT}/boot/grub/bios.img`, join(dir, 'bios.img'));
    await fileEntry(pack, `${LIVECD_ROOT}/boot/grub/efi.img`, join(dir, 'efi.img'));
    await fileEntry(pack, `${LIVECD_ROOT}/live/vmlinuz`, join(dir, 'vmlinuz'));
    await fileEntry(pack, `${LIVECD_ROOT}/live/initrd.img`, join(dir, 'initrd.img'));
    await fileEntry(pack, `${LIVECD_ROOT}/live/filesystem.squashfs`, join(dir, 'filesystem.squashfs'));
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return pack as unknown as Readable;
}

/**
 * Builds the live-CD content from `input.image` and commits image + `/livecd` layer.
 * @returns the final image id (tagged with its stage tag; the caller tags the image reference).
 * @throws BuildError when the export, the squashfs writer, grub or Docker fails.
 */
export async function livecdStage(input: LivecdInput): Promise<{ image: string }> {
  await mkdir(join(input.cacheDir, 'livecd'), { recursive: true });
  const dir = join(input.cacheDir, 'livecd', leasedName(`.work-${input.digest.slice(0, 16)}-`));
  await mkdir(dir);
  let containerId: string | undefined;
  try {
    const c = await createContainer(input.image, {
      session: input.session,
      name: `aib-livecd-${input.session}`,
      start: false,
      network: false,
    });
    containerId = c.id;
    const kernel = await extractKernel(await getArchive(c.id, '/boot'), dir);
    input.onInfo?.(`kernel ${kernel}`);
    await putArchive(c.id, etcLayer(), '/');
    await input.squash(await exportContainer(c.id), join(dir, 'filesystem.squashfs'), {
      compressor: input.vars.mksquashfs_compression,
      exclude: SQUASHFS_EXCLUDE,
      ...(input.vars.mksquashfs_level !== undefined ? { level: input.vars.mksquashfs_level } : {}),
      threads: input.vars.mksquashfs_threads,
      timeoutSeconds: input.vars.squashfs_timeout,
      logFile: input.logFile,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    input.onInfo?.(
      `squashfs ${Math.round((await stat(join(dir, 'filesystem.squashfs'))).size / 1048576)} MiB`,
    );
    const embedded = join(dir, 'embedded.cfg');
    await writeFile(embedded, embeddedGrubCfg());
    await makeGrubImages({
      embeddedCfg: embedded,
      outDir: dir,
      ...epochOption(),
      logFile: input.logFile,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    await putArchive(c.id, livecdLayer(dir, liveGrubCfg(input.vars.grub_menu_timeout)), '/');
    if (input.signal?.aborted) throw new BuildError('livecd: aborted');
    const image = await commitContainer(c.id, input.changes);
    await tagImage(image, stageTag('livecd', input.digest));
    return { image };
  } finally {
    if (containerId) await removeContainer(containerId);
    await rm(dir, { recursive: true, force: true });
  }
}
