/** `rootfs/livecdcontent-vars.yaml`: the live image's squashfs and boot menu. */
import { z } from 'zod';
import { count, describe, integer } from './common.js';
import type { VarsKind } from './kind.js';

export const COMPRESSORS = ['gzip', 'xz', 'lz4', 'zstd'] as const;
export type Compressor = (typeof COMPRESSORS)[number];

export const compressor = z.unknown().transform((v, ctx): Compressor => {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
  if ((COMPRESSORS as readonly unknown[]).includes(s)) return s as Compressor;
  ctx.addIssue({
    code: 'custom',
    message:
      s === 'lzo'
        ? 'lzo is not supported by our squashfs writer; choose gzip, xz, lz4 or zstd (lz4 is the fastest to boot, zstd the best balance)'
        : `unknown compressor ${describe(v)}; expected one of gzip, xz, lz4, zstd`,
  });
  return z.NEVER;
});

/** Levels each compressor accepts, as mksquashfs documents them. */
export const LEVELS: Readonly<Record<Compressor, readonly [number, number] | null>> = {
  gzip: [1, 9],
  xz: [0, 9],
  lz4: null,
  zstd: [1, 22],
};

export const livecdKind: VarsKind = {
  title: 'livecdcontent',
  vars: {
    mksquashfs_compression: compressor,
    mksquashfs_level: integer,
    mksquashfs_threads: count,
    squashfs_timeout: count,
    grub_menu_timeout: count,
  },
  lists: new Set(),
  patterns: [],
  containerPaths: new Map([
    ['root_chroot', { value: 'build', here: 'the image built by the build command' }],
    ['root_image', { value: 'build', here: 'the image built by the build command' }],
  ]),
};
