/** Probes free space where the build writes. */
import { existsSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ProbeResult } from './probe-types.js';

/** A build keeps the rootfs tar, the image layers and the artifacts: about 10 GB with a margin. */
export const RECOMMENDED_FREE_BYTES = 10e9;

/** Free bytes in the file system holding `dir` (its nearest existing ancestor); never throws. */
export function probeDisk(dir: string): ProbeResult {
  let d = resolve(dir);
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  const base = { id: 'disk', title: `free disk in ${resolve(dir)}`, neededBy: ['build', 'cut-image'] };
  try {
    const s = statfsSync(d);
    const free = s.bavail * s.bsize;
    const gb = (free / 1e9).toFixed(1);
    return free >= RECOMMENDED_FREE_BYTES
      ? { ...base, status: 'ok', detail: `${gb} GB free` }
      : {
          ...base,
          status: 'warn',
          detail: `${gb} GB free, less than the ${RECOMMENDED_FREE_BYTES / 1e9} GB a build may need`,
          fix: 'free space or point --cache-dir/--out-dir at a larger file system',
        };
  } catch (err) {
    return { ...base, status: 'error', detail: (err as Error).message };
  }
}
