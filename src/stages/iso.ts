/**
 * Cutting the ephemeral ISO: the image's /livecd tree plus the site's config-drive, written by xorriso as a
 * hybrid image that boots from CD or disk on BIOS and UEFI. The volume id `config-2` makes the ISO itself
 * the OpenStack config-drive cloud-init looks for.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { IsoVars } from '../config/types.js';
import { extractTar } from '../engine/tar-extract.js';
import { makeHybridIso } from '../engine/xorriso.js';
import { BuildError } from '../errors.js';
import { leaseTag } from '../lease.js';
import type { ProgressListener } from '../progress.js';
import { writeAtomically } from './artifact.js';
import { ImageTree } from './tree-fs.js';

export const ISO_VOLID = 'config-2';
/** Files of the image contract the ISO cannot be made without. */
export const LIVECD_REQUIRED = [
  '.airship-livecd',
  'live/filesystem.squashfs',
  'live/vmlinuz',
  'live/initrd.img',
  'boot/grub/grub.cfg',
  'boot/grub/bios.img',
  'boot/grub/efi.img',
];
export const HOST_HYBRID_MBR = '/usr/lib/grub/i386-pc/boot_hybrid.img';

export interface IsoCutInput {
  iso: IsoVars;
  /** Tar stream of the image's /livecd folder (as `getArchive` returns it: `livecd/…`). */
  livecd: () => Promise<Readable>;
  outFile: string;
  scratchDir: string;
  sourceDateEpoch: number;
  mbrTemplate?: string;
  logFile?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Renders the three config-drive files. */
export function configDriveFiles(iso: IsoVars): Record<string, string> {
  return {
    'openstack/latest/meta_data.json': `${JSON.stringify(iso.meta_data)}\n`,
    'openstack/latest/network_data.json': `${JSON.stringify(iso.network_data, null, 2)}\n`,
    'openstack/latest/user_data': iso.user_data,
  };
}

/** @throws BuildError when the image lacks the live-CD tree or xorriso fails; nothing is left at `outFile`. */
export async function cutIso(i: IsoCutInput): Promise<{ file: string; timings: Record<string, number> }> {
  const work = await mkdtemp(join(i.scratchDir, `cut-iso-${leaseTag()}-`));
  const timings: Record<string, number> = {};
  const opts = { ...(i.logFile ? { logFile: i.logFile } : {}), ...(i.signal ? { signal: i.signal } : {}) };
  try {
    const root = join(work, 'root');
    await mkdir(root);
    let t = Date.now();
    i.onProgress?.({ stage: 'iso', kind: 'progress', message: 'copying /livecd out of the image' });
    await extractTar(await i.livecd(), root, { strip: 1, stateFile: join(work, 'fakeroot.state'), ...opts });
    timings.extract = Date.now() - t;
    const tree = ImageTree.open(root, '/livecd');
    try {
      const missing: string[] = [];
      for (const f of LIVECD_REQUIRED) {
        const st = tree.lstat(f);
        if (!st) missing.push(`/livecd/${f}`);
        // xorriso reads the boot images by path: a link would put whatever it names into the ISO.
        else if (!st.isFile())
          throw new BuildError(
            `the image's ${tree.shown(f)} is ${st.isSymbolicLink() ? 'a symlink' : 'not a regular file'}; the live-CD files must be regular files`,
            { stage: 'iso' },
          );
      }
      if (missing.length)
        throw new BuildError(
          `the image lacks ${missing.join(', ')}; rebuild it with \`image-builder build\``,
          {
            stage: 'iso',
          },
        );
      for (const [rel, text] of Object.entries(configDriveFiles(i.iso))) tree.writeFile(rel, text);
    } finally {
      tree.close();
    }
    t = Date.now();
    i.onProgress?.({ stage: 'iso', kind: 'progress', message: 'writing the hybrid ISO (xorriso)' });
    await writeAtomically(i.outFile, (tmp) =>
      makeHybridIso({
        root,
        out: tmp,
        volid: ISO_VOLID,
        biosImage: 'boot/grub/bios.img',
        espImage: join(root, 'boot/grub/efi.img'),
        mbrTemplate: i.mbrTemplate ?? HOST_HYBRID_MBR,
        sourceDateEpoch: i.sourceDateEpoch,
        ...opts,
      }),
    );
    timings.xorriso = Date.now() - t;
    return { file: i.outFile, timings };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
