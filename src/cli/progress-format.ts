/**
 * How progress reads as text, shared by the plain and TTY forms of the renderer: durations, byte counts,
 * `done/total (p%)`, the line of one event and the table of steps printed at the end.
 */
import type { ProgressEvent } from '../api.js';

/** A finished (or cached) step for the table. */
export interface StepRow {
  stage: string;
  outcome: 'built' | 'reused' | 'skipped' | 'failed' | 'running';
  ms: number;
}

/** Seconds as `12.3 s`, or `m:ss` from a minute on. */
export function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** `n` bytes as MiB or GiB with one decimal. */
export function bytes(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** `done/total unit (p%)` of a progress event (`45.2/120.0 MiB (37%)`), or '' when it carries no counts. */
export function amount(e: ProgressEvent): string {
  if (e.done === undefined) return '';
  const pct = e.total ? ` (${Math.min(100, Math.floor((e.done / e.total) * 100))}%)` : '';
  if (e.unit === 'bytes') {
    if (e.total === undefined) return bytes(e.done);
    const [n, unit] = bytes(Math.max(e.done, e.total)).split(' ');
    const scale = unit === 'GiB' ? 1 << 30 : 1 << 20;
    return `${(e.done / scale).toFixed(1)}/${n} ${unit}${pct}`;
  }
  const unit = e.unit ? ` ${e.unit}` : '';
  return `${e.done}${e.total !== undefined ? `/${e.total}` : ''}${unit}${pct}`;
}

/** The plain line of an event; null for events the plain form does not print. */
export function plainLine(e: ProgressEvent): string | null {
  const msg = e.message ? ` ${e.message}` : '';
  switch (e.kind) {
    case 'start':
      return `${e.stage}: running${e.message ? ` (${e.message})` : ''}`;
    case 'done':
      return `${e.stage}: done${e.elapsedMs !== undefined ? ` in ${duration(e.elapsedMs)}` : ''}`;
    case 'failed':
      return `${e.stage}: failed${e.elapsedMs !== undefined ? ` after ${duration(e.elapsedMs)}` : ''}:${msg}`;
    case 'warning':
      return `warning: ${e.message ?? ''} (${e.stage})`;
    case 'progress': {
      const a = amount(e);
      return `${e.stage}:${msg}${a ? ` ${a}` : ''}`;
    }
    default:
      return `${e.stage}: ${e.message ?? e.kind}`;
  }
}

/** The table of steps and durations printed at the end, with the wall time of the whole command. */
export function stepTable(rows: readonly StepRow[], totalMs: number): string {
  const width = Math.max(20, ...rows.map((r) => r.stage.length + 2));
  const line = (a: string, b: string, c: string) => `  ${a.padEnd(width)} ${b.padEnd(8)} ${c.padStart(9)}`;
  return [
    line('step', 'outcome', 'time'),
    ...rows.map((r) => line(r.stage, r.outcome, duration(r.ms))),
    line('total', '', duration(totalMs)),
  ].join('\n');
}
