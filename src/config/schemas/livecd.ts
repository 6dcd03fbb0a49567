/** `rootfs/livecdcontent-vars.yaml`: the live image's squashfs and boot menu. */
import { z } from 'zod';
import { COMPRESSOR_NAMES, type Compression, COMPRESSORS as TABLE } from '../../compressors.js';
import { count, describe, integer } from './common.js';
import type { VarsKind } from './kind.js';

/** The writer's compressors (src/compressors.ts: the one table the addon is checked against). */
export const COMPRESSORS = COMPRESSOR_NAMES;
export type Compressor = Compression;

export const compressor = z.unknown().transform((v, ctx): Compressor => {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
  if ((COMPRESSORS as readonly unknown[]).includes(s)) return s as Compressor;
  ctx.addIssue({
    code: 'custom',
    message:
      s === 'lzo'
        ? `lzo is not supported by our squashfs writer; choose ${COMPRESSORS.slice(0, -1).join(', ')} or ${COMPRESSORS.at(-1)} (lz4 is the fastest to boot, zstd the best balance)`
        : `unknown compressor ${describe(v)}; expected one of ${COMPRESSORS.join(', ')}`,
  });
  return z.NEVER;
});

/** Levels each compressor accepts (null: it takes none), from the table. */
export const LEVELS: Readonly<Record<Compressor, readonly [number, number] | null>> = Object.fromEntries(
  COMPRESSORS.map((c) => {
    const l = TABLE[c].levels;
    return [c, l ? ([l.min, l.max] as const) : null];
  }),
) as Record<Compressor, readonly [number, number] | null>;

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
