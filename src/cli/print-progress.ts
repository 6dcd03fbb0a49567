import type { ProgressEvent } from '../api.js';

/** One line per progress event on stderr, so stdout keeps only results. */
export function printProgress(e: ProgressEvent): void {
  const parts = [`[${e.stage}]`, e.kind];
  if (e.done !== undefined)
    parts.push(`${e.done}${e.total !== undefined ? `/${e.total}` : ''}${e.unit ? ` ${e.unit}` : ''}`);
  if (e.elapsedMs !== undefined) parts.push(`${(e.elapsedMs / 1000).toFixed(1)} s`);
  if (e.message) parts.push(e.message);
  process.stderr.write(`${parts.join(' ')}\n`);
}
