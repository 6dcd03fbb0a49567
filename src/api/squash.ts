/**
 * `squash`: the native SquashFS writer as a library call (src/squashfs), with the sweep of earlier runs' temp
 * files and progress events.
 */
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { WriterOptions } from '../squashfs/options.js';
import { resolveOptions } from '../squashfs/options.js';
import { type WriteResult, writeImage } from '../squashfs/write.js';
import { sweepLeftovers, sweepSummary } from '../stages/reaper.js';
import type { CommonOptions } from './common.js';

export type { Compression, WriterOptions } from '../squashfs/options.js';

/** Options of {@link squash}. */
export interface SquashOptions extends CommonOptions, WriterOptions {
  /** A directory, or a tar stream (e.g. `docker export`'s). */
  source: string | Readable;
  /** The SquashFS file to write; written beside as a temp file and renamed when complete. */
  out: string;
}

/** What {@link squash} wrote. */
export interface SquashResult extends WriteResult {
  out: string;
  elapsedMs: number;
}

/**
 * Writes a SquashFS 4.0 image with the native writer and a pool of compression workers. The same input and
 * `SOURCE_DATE_EPOCH` give the same bytes whatever `processors` is.
 * @throws UsageError for invalid options.
 * @throws Error naming the entry when an input file vanishes, shrinks or cannot be read; when a worker or the tar
 *   stream stalls for `stallTimeoutMs`; or the abort reason when `signal` fires. No output file is left behind;
 *   temp files that killed runs left beside `out` (or in the cache folder) are removed first.
 * @throws TarFormatError (src/squashfs/tar-reader.ts) naming the entry, its ordinal and header offset when the tar
 *   stream is malformed, truncated or has no end-of-archive marker, or an entry's name or numbers cannot go into
 *   the image (absolute, `..`, NUL, a component over 255 bytes, ids or mtime over 32 bits, a duplicate).
 *   A bad `cacheDir` entry is not an error: it is recompressed, rewritten and counted in
 *   {@link WriteResult.cacheEntriesBad} (with one `warning` progress event).
 */
export async function squash(opts: SquashOptions): Promise<SquashResult> {
  const resolved = resolveOptions(opts);
  const started = Date.now();
  const signal = opts.signal ?? new AbortController().signal;
  const emit = opts.onProgress ?? (() => {});
  const swept = sweepSummary(
    await sweepLeftovers({
      folders: [dirname(resolve(opts.out)), ...(opts.cacheDir ? [opts.cacheDir] : [])],
    }),
  );
  if (swept) emit({ stage: 'squashfs', kind: 'info', message: swept });
  emit({ stage: 'squashfs', kind: 'start', message: `writing ${opts.out}` });
  const result = await writeImage(opts.source, opts.out, resolved, signal, (p) =>
    emit({
      stage: 'squashfs',
      kind: 'progress',
      message: p.phase,
      done: p.done,
      ...(p.total !== undefined ? { total: p.total } : {}),
      unit: p.phase === 'data' ? 'bytes' : 'entries',
    }),
  );
  // Once per run, with counts: a damaged cache costs time, never correctness.
  if (result.cacheEntriesBad > 0)
    emit({
      stage: 'squashfs',
      kind: 'warning',
      message: `block cache ${opts.cacheDir}: ${result.cacheEntriesBad} bad entr${result.cacheEntriesBad === 1 ? 'y' : 'ies'} (truncated, altered or not a file) ignored and rewritten`,
    });
  if (result.cacheEntriesUnwritable > 0)
    emit({
      stage: 'squashfs',
      kind: 'warning',
      message: `block cache ${opts.cacheDir}: ${result.cacheEntriesUnwritable} entr${result.cacheEntriesUnwritable === 1 ? 'y' : 'ies'} could not be written (read-only or full?)`,
    });
  const elapsedMs = Date.now() - started;
  emit({ stage: 'squashfs', kind: 'done', message: `${opts.out}: ${result.bytes} bytes`, elapsedMs });
  return { ...result, out: opts.out, elapsedMs };
}
