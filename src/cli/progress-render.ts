/**
 * The one progress renderer of the CLI, always on stderr so stdout carries only results. Three forms:
 * `tty` — a live line per running step with bytes or percent, ETA and elapsed time, finished steps scrolled
 * above; `plain` — one line per event (progress lines thrown at most every few seconds per phase); `json` — one
 * JSON object per line, the schema in docs/progress.md. `tty` and `plain` end with a table of the steps and
 * their durations, `json` with a `summary` event.
 */
import { type Command, Option } from 'commander';
import { type ProgressEvent, type ProgressListener, percentOf } from '../api.js';
import { plainLine, type StepRow, stepTable } from './progress-format.js';
import { LiveArea } from './progress-tty.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json';
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'json'];

/** The part of a stream the renderer uses (process.stderr, or a fake in tests). */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Renderer {
  listener: ProgressListener;
  /** Stops the live area and prints the table of steps (or the JSON summary). Call once, also on failure. */
  finish(): void;
}

/** Keeps what the table needs: each step's outcome and duration, in the order steps started. */
export class StepLedger {
  private readonly rows = new Map<string, StepRow & { startedAt: number }>();

  constructor(private readonly now: () => number) {}

  note(e: ProgressEvent): void {
    const row = this.rows.get(e.stage);
    if (e.kind === 'start')
      this.rows.set(e.stage, { stage: e.stage, outcome: 'running', ms: 0, startedAt: this.now() });
    else if (e.kind === 'reused' || e.kind === 'skipped')
      this.rows.set(e.stage, { stage: e.stage, outcome: e.kind, ms: 0, startedAt: this.now() });
    else if ((e.kind === 'done' || e.kind === 'failed') && row) {
      row.outcome = e.kind === 'done' ? 'built' : 'failed';
      row.ms = e.elapsedMs ?? this.now() - row.startedAt;
    }
  }

  /** The rows; steps still running (the command failed elsewhere) with their time so far. */
  table(): StepRow[] {
    return [...this.rows.values()].map(({ stage, outcome, ms, startedAt }) => ({
      stage,
      outcome,
      ms: outcome === 'running' ? this.now() - startedAt : ms,
    }));
  }
}

/** Plain progress lines of one phase are printed at most this often (the first and the last always). */
const PLAIN_EVERY_MS = 5000;

function plainRenderer(out: OutStream, ledger: StepLedger, now: () => number): ProgressListener {
  const lastShown = new Map<string, number>();
  return (e) => {
    ledger.note(e);
    if (e.kind === 'progress') {
      const key = `${e.stage}\0${e.message ?? ''}`;
      const last = lastShown.get(key);
      const final = e.total !== undefined && e.done !== undefined && e.done >= e.total;
      if (last !== undefined && now() - last < PLAIN_EVERY_MS && !final) return;
      lastShown.set(key, now());
    }
    const line = plainLine(e);
    if (line !== null) out.write(`${line}\n`);
  };
}

function jsonRenderer(out: OutStream, ledger: StepLedger, now: () => number): ProgressListener {
  return (e) => {
    ledger.note(e);
    const percent = percentOf(e);
    const pct = percent !== undefined ? { percent } : {};
    out.write(`${JSON.stringify({ time: new Date(now()).toISOString(), ...e, ...pct })}\n`);
  };
}

/** The form `mode` takes on `out`: `auto` is `tty` on a terminal, `plain` otherwise. */
export function resolveMode(mode: ProgressMode, out: OutStream): Exclude<ProgressMode, 'auto'> {
  if (mode !== 'auto') return mode;
  return out.isTTY ? 'tty' : 'plain';
}

/**
 * A renderer of `mode` writing to `out` (default stderr).
 * @param now clock in ms, for tests
 */
export function createRenderer(
  mode: ProgressMode,
  out: OutStream = process.stderr,
  now: () => number = Date.now,
): Renderer {
  const started = now();
  const ledger = new StepLedger(now);
  const form = resolveMode(mode, out);
  if (form === 'json') {
    return {
      listener: jsonRenderer(out, ledger, now),
      finish: () =>
        out.write(
          `${JSON.stringify({ time: new Date(now()).toISOString(), kind: 'summary', steps: ledger.table(), elapsedMs: now() - started })}\n`,
        ),
    };
  }
  const table = () => {
    const rows = ledger.table();
    if (rows.length) out.write(`${stepTable(rows, now() - started)}\n`);
  };
  if (form === 'plain') return { listener: plainRenderer(out, ledger, now), finish: table };
  const live = new LiveArea(out, now);
  return {
    listener: (e) => {
      ledger.note(e);
      live.update(e);
    },
    finish: () => {
      live.stop();
      table();
    },
  };
}

/** Adds `--progress <auto|tty|plain|json>` to a command that reports progress. */
export function addProgressOption(cmd: Command): Command {
  return cmd.addOption(progressOption());
}

/** The `--progress` option (default `auto`: `tty` on a terminal, else `plain`). */
export function progressOption(): Option {
  return new Option(
    '--progress <form>',
    'progress on stderr: a live TTY view, plain lines or JSON lines (docs/progress.md)',
  )
    .choices(PROGRESS_MODES)
    .default('auto');
}

/**
 * Runs `fn` with the renderer the command's `--progress` asks for, and finishes it (the table of steps) whether
 * `fn` succeeds or fails.
 */
export async function withProgress<T>(
  opts: Record<string, unknown>,
  fn: (onProgress: ProgressListener) => Promise<T>,
): Promise<T> {
  const mode = PROGRESS_MODES.includes(opts.progress as ProgressMode)
    ? (opts.progress as ProgressMode)
    : 'auto';
  const r = createRenderer(mode);
  try {
    return await fn(r.listener);
  } finally {
    r.finish();
  }
}
