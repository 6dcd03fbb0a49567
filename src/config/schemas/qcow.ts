/** A bundle's `qcow-vars.yaml`: the target disk's size, partitions and output. */
import { z } from 'zod';
import { PARTITION_DEFAULTS } from '../role-defaults.js';
import {
  absolutePath,
  count,
  describe,
  fieldText,
  fileName,
  integer,
  known,
  list,
  looseBool,
  name,
  runContexts,
  text,
} from './common.js';
import { varsKind } from './kind.js';

/** A boundary as written; its unit is checked when resolved against the capacity. */
const boundary = z.union([z.string(), z.number()], {
  error: (iss) => `expected a size such as 1MiB, 2GiB or 100%, got ${describe(iss.input)}`,
});

const FLAGS = ['bios_grub', 'esp'] as const;

/** `none` (bios_grub) or an absolute, normalised path: it is an fstab field and a folder of the cut's tree. */
const mountPoint = name.transform((v, ctx): string => {
  const why =
    v === 'none'
      ? undefined
      : (absolutePath(v) ??
        (/\s/.test(v) ? 'a mount point cannot hold blanks (it is an fstab field)' : undefined));
  if (why === undefined) return v;
  ctx.addIssue({ code: 'custom', message: why });
  return z.NEVER;
});

export const partitionSchema = known({
  mount: mountPoint,
  mount_order: integer.default(0),
  part_start: boundary,
  part_end: boundary,
  flags: list(
    z.enum(FLAGS, { error: (iss) => `expected bios_grub or esp, got ${describe(iss.input)}` }),
  ).default([]),
  filesystem: known({
    type: z.enum(['ext4', 'vfat', 'xfs'], {
      error: (iss) => `expected filesystem type ext4, vfat or xfs, got ${describe(iss.input)}`,
    }),
    fstab: known({
      options: fieldText.default('defaults'),
      dump: count.default(0),
      fsck: count.default(0),
    }).default({ options: 'defaults', dump: 0, fsck: 0 }),
  }).optional(),
});

export type PartitionInput = z.output<typeof partitionSchema>;
export type FilesystemType = NonNullable<PartitionInput['filesystem']>['type'];

const runtimeScript = known({ file_content: text, run_contexts: runContexts.default(['qcow']) });

const vars = {
  /** The output file's name inside the output folder: never a path; `<bundle>.qcow2` when not given. */
  img_name: fileName.optional(),
  qcow_capacity: z
    .union([z.string(), z.number()], {
      error: (iss) => `expected a size such as 19G, got ${describe(iss.input)}`,
    })
    .transform(String)
    .default('19G'),
  qcow_compress: looseBool.default(true),
  /** Output compression: zlib (readable everywhere) or zstd (QEMU >= 5.1, much faster). */
  qcow_compression_type: z
    .enum(['zlib', 'zstd'], { error: (iss) => `expected zlib or zstd, got ${describe(iss.input)}` })
    .default('zlib'),
  /** Who writes the qcow2: the built-in parallel writer, or `qemu-img convert` (the fallback). */
  qcow_writer: z
    .enum(['native', 'qemu-img'], {
      error: (iss) => `expected native or qemu-img, got ${describe(iss.input)}`,
    })
    .default('native'),
  partitions: list(partitionSchema).default(() => structuredClone(PARTITION_DEFAULTS)),
  qcow_container_runtime_scripts: list(runtimeScript).default([]),
};

export const qcowKind = varsKind('qcow', vars, {
  src: { value: '/build', here: 'the image cut-image reads' },
  dst: { value: '/chroot', here: 'a scratch folder of cut-image' },
  nbd_build_dir: {
    value: '/tmp/nbd_build_dir',
    here: 'a scratch folder of cut-image (no nbd device is used)',
  },
  img_output_dir: { value: '/config', here: 'the output folder, OUT_DIR / --out-dir' },
});
