/**
 * SOURCE_DATE_EPOCH read once, the same way everywhere: the squashfs writer, the cut and package-qcow all
 * refuse a malformed value rather than one ignoring it while another honours it.
 */
import { UsageError } from './errors.js';

/** Largest time a squashfs, ext4 or ISO can hold (32-bit seconds). */
export const MAX_EPOCH = 0xffffffff;

/**
 * The environment's SOURCE_DATE_EPOCH; undefined when unset or empty.
 * @throws UsageError when set to anything but whole seconds from 0 to {@link MAX_EPOCH}
 */
export function envSourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) > MAX_EPOCH)
    throw new UsageError(
      `SOURCE_DATE_EPOCH: expected seconds since 1970 (0 to ${MAX_EPOCH}), got ${JSON.stringify(v)}`,
    );
  return Number(v);
}

/** The environment's epoch as an optional `sourceDateEpoch` field: empty when unset, for spreading into options. */
export function epochOption(env: NodeJS.ProcessEnv = process.env): { sourceDateEpoch?: number } {
  const epoch = envSourceDateEpoch(env);
  return epoch === undefined ? {} : { sourceDateEpoch: epoch };
}
