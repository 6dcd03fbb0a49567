/** `rootfs/livecdcontent-vars.yaml`: the live image's squashfs and boot menu. */
import { z } from 'zod';
import { COMPRESSOR_NAMES as COMPRESSORS, type Compression, isCompression } from '../../compressors.js';
import { count, describe, integer } from './common.js';
import { varsKind } from './kind.js';

/** One of the writer's compressors (src/compressors.ts: the one table the addon is checked against). */
const compressor = z.unknown().transform((v, ctx): Compression => {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
  if (isCompression(s)) return s;
  ctx.addIssue({
    code: 'custom',
    message:
      s === 'lzo'
        ? `lzo is not supported by our squashfs writer; choose ${COMPRESSORS.slice(0, -1).join(', ')} or ${COMPRESSORS.at(-1)} (lz4 is the fastest to boot, zstd the best balance)`
        : `unknown compressor ${describe(v)}; expected one of ${COMPRESSORS.join(', ')}`,
  });
  return z.NEVER;
});

const vars = {
  mksquashfs_compression: compressor.default('lz4'),
  /** Compression level; default is the compressor's mksquashfs default (src/compressors.ts). */
  mksquashfs_level: integer.optional(),
  /** Worker threads; 0 = all cores. */
  mksquashfs_threads: count.default(0),
  /** Seconds after which a stalled squashfs write fails. */
  squashfs_timeout: count.default(120),
  grub_menu_timeout: count.default(0),
};

const fromBuild = { value: 'build', here: 'the image built by the build command' };

export const livecdKind = varsKind('livecdcontent', vars, { root_chroot: fromBuild, root_image: fromBuild });
