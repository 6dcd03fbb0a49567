/** The QCOW cut's last step: the raw disk to qcow2, by the built-in writer or by `qemu-img convert`. */

import { stat } from 'node:fs/promises';
import type { QcowVars } from '../config/types.js';
import { convertToQcow2 } from '../engine/qemu-img.js';
import type { ProgressListener } from '../progress.js';
import { type Qcow2Reference, type Qcow2WriteResult, writeQcow2 } from '../qcow2/write.js';

export interface ConvertDiskOptions {
  stage: string;
  /** Parallel compression; off reproduces a single stream (comparison runs). */
  parallel: boolean;
  logFile?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /**
   * Images this cut writes: the built-in writer copies identical clusters from one of the same settings (written
   * before, or being written: it follows that writer), and adds its own.
   */
  written?: WrittenImages;
  /** Another bundle's disk holding this disk's bytes in `ranges` (built-in writer only, see qcow2/write.ts). */
  base?: { raw: string; ranges: Float64Array };
}

/** The images a cut has written or is writing, for the next bundle of the same layout and compression. */
export class WrittenImages {
  private readonly refs: Qcow2Reference[] = [];

  /** Keeps `ref` when it is the first of its settings ({@link like} gives only that one); lets go of it otherwise. */
  add(ref: Qcow2Reference): void {
    if (this.like(ref.virtualSize, ref.compression)) ref.close();
    else this.refs.push(ref);
  }

  /** Lets go of every image (the cut is over). */
  close(): void {
    for (const r of this.refs.splice(0)) r.close();
  }

  /** The first image of this virtual size and compression, if any. */
  like(virtualSize: number, compression: Qcow2Reference['compression']): Qcow2Reference | undefined {
    return this.refs.find((r) => r.virtualSize === virtualSize && r.compression === compression);
  }
}

/**
 * Writes `raw` as the qcow2 `out` as the bundle's `qcow_writer` says.
 * @returns the built-in writer's result (undefined from qemu-img).
 * @throws BuildError from qemu-img; Error naming the raw disk from the built-in writer; the abort reason.
 */
export async function convertDisk(
  raw: string,
  out: string,
  q: QcowVars,
  o: ConvertDiskOptions,
): Promise<Qcow2WriteResult | undefined> {
  if (q.qcow_writer === 'qemu-img') {
    // qemu-img reads the raw disk alone.
    if (o.base) throw new Error('convertDisk: a base disk needs the built-in writer');
    await convertToQcow2(raw, out, {
      compress: q.qcow_compress,
      compressionType: q.qcow_compression_type,
      parallel: o.parallel,
      ...(o.logFile ? { logFile: o.logFile } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return undefined;
  }
  const written = o.written;
  const reuse = written?.like((await stat(raw)).size, q.qcow_compression_type);
  return writeQcow2(raw, out, {
    compress: q.qcow_compress,
    compression: q.qcow_compression_type,
    ...(reuse ? { reuse } : {}),
    ...(written ? { share: (r: Qcow2Reference) => written.add(r) } : {}),
    ...(o.parallel ? {} : { processors: 1 }),
    ...(o.base ? { base: o.base } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onProgress: (done, total) =>
      o.onProgress?.({ stage: o.stage, kind: 'progress', message: 'convert', done, total, unit: 'bytes' }),
  });
}
