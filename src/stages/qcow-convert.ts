/** The QCOW cut's last step: the raw disk to qcow2, by the built-in writer or by `qemu-img convert`. */

import type { QcowVars } from '../config/types.js';
import { convertToQcow2 } from '../engine/qemu-img.js';
import type { ProgressListener } from '../progress.js';
import { writeQcow2 } from '../qcow2/write.js';

export interface ConvertDiskOptions {
  stage: string;
  /** Parallel compression; off reproduces a single stream (comparison runs). */
  parallel: boolean;
  logFile?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/**
 * Writes `raw` as the qcow2 `out` as the bundle's `qcow_writer` says.
 * @throws BuildError from qemu-img; Error naming the raw disk from the built-in writer; the abort reason.
 */
export async function convertDisk(
  raw: string,
  out: string,
  q: QcowVars,
  o: ConvertDiskOptions,
): Promise<void> {
  if (q.qcow_writer === 'qemu-img') {
    await convertToQcow2(raw, out, {
      compress: q.qcow_compress,
      compressionType: q.qcow_compression_type,
      parallel: o.parallel,
      ...(o.logFile ? { logFile: o.logFile } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return;
  }
  await writeQcow2(raw, out, {
    compress: q.qcow_compress,
    compression: q.qcow_compression_type,
    ...(o.parallel ? {} : { processors: 1 }),
    ...(o.signal ? { signal: o.signal } : {}),
    onProgress: (done, total) =>
      o.onProgress?.({ stage: o.stage, kind: 'progress', message: 'convert', done, total, unit: 'bytes' }),
  });
}
