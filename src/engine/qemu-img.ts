/** qemu-img: raw → qcow2 conversion, checks, overlays and reading a byte range back. */
import { run } from './exec.js';

export interface ConvertOptions {
  compress: boolean;
  compressionType: 'zlib' | 'zstd';
  /** Parallel coroutines and out-of-order writes (`-m N -W`); off reproduces a single stream. */
  parallel: boolean;
  signal?: AbortSignal;
  logFile?: string;
}

/** Converts a raw disk to qcow2. @throws BuildError */
export async function convertToQcow2(raw: string, out: string, o: ConvertOptions): Promise<void> {
  const args = ['convert', '-q', '-f', 'raw', '-O', 'qcow2'];
  if (o.compress) args.push('-c');
  if (o.compress && o.compressionType === 'zstd') args.push('-o', 'compression_type=zstd');
  if (o.parallel) args.push('-m', '8', '-W');
  args.push(raw, out);
  await run('qemu-img', args, {
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.logFile ? { logFile: o.logFile } : {}),
  });
}

/** `qemu-img check`; resolves with its report. @throws BuildError when the image has errors. */
export async function checkQcow2(file: string): Promise<string> {
  return (await run('qemu-img', ['check', '-f', 'qcow2', file])).stdout;
}

/** Facts from `qemu-img info --output=json`. */
export async function qemuImgInfo(
  file: string,
): Promise<{ format: string; virtualSize: number; compression?: string }> {
  const j = JSON.parse((await run('qemu-img', ['info', '--output=json', file])).stdout) as {
    format: string;
    'virtual-size': number;
    'format-specific'?: { data?: { 'compression-type'?: string } };
  };
  const compression = j['format-specific']?.data?.['compression-type'];
  return { format: j.format, virtualSize: j['virtual-size'], ...(compression ? { compression } : {}) };
}

/** A qcow2 overlay over `base`, so a boot never writes to the artifact. */
export async function createOverlay(base: string, baseFormat: string, out: string): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', base, out]);
}

/** The whole disk as a sparse raw file (for readers that take a byte offset). */
export async function convertToRaw(image: string, out: string): Promise<void> {
  await run('qemu-img', ['convert', '-O', 'raw', image, out]);
}
