/**
 * The step runner: a command (`build`, `cut-image`) is a list of named steps over one context, as in mkosi.
 * The runner is the only place that times a step, writes its start, duration and exit status to the log,
 * reports it as progress (`start` → `done`/`failed`, or `reused`/`skipped`), and sweeps with the reaper at the
 * start and end of the run. Steps may also run side by side (QCOW bundles in lanes): each `step()` call is
 * timed and logged on its own.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BuildError } from '../errors.js';
import type { ProgressEvent, ProgressListener, ProgressUnit } from '../progress.js';
import { reapSession, type SweepPlaces, sweepLeftovers, sweepSummary } from './reaper.js';

/** How a step ended: it ran (`built`), its cached result was used (`reused`, `skipped`), or it `failed`. */
export type StepOutcome = 'built' | 'reused' | 'skipped' | 'failed';

export interface StepTiming {
  step: string;
  outcome: StepOutcome;
  ms: number;
}

/** What a running step may do besides its work: report progress under its own name. */
export interface StepHandle {
  readonly name: string;
  /** A `progress` event of the step: a phase, with `done` of `total` units when known. */
  progress(message: string, done?: number, total?: number, unit?: ProgressUnit): void;
  info(message: string): void;
  warn(message: string): void;
}

/** A cached result a step can use instead of running: `reused` (same inputs) or `skipped` (by a setting). */
export interface CacheHit {
  outcome: 'reused' | 'skipped';
  message: string;
}

/** One named step of a command over its context `C`. */
export interface Step<C> {
  name: string;
  /** What the step runs, for the log and the `start` event (e.g. the file it writes). */
  describe?: (ctx: C) => string | undefined;
  /** Looked up before the step starts: a hit records the step as reused or skipped and `run` is not called. */
  cached?: (ctx: C) => Promise<CacheHit | null>;
  run(ctx: C, step: StepHandle): Promise<void>;
}

export interface StepRunnerOptions {
  /** The command, for the log (`build`, `cut-image`). */
  command: string;
  /** The run's log: every step's start, end, duration and exit status, with timestamps. */
  logFile: string;
  /** The run's session id (container and image labels), reaped at the end. */
  session: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Masks secrets in messages before they reach the log (progress is masked by the caller's listener). */
  redact?: (text: string) => string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The log of one run of `command`: `<logDir>/<command>-YYYYMMDD-HHMMSS-<pid>.log` (UTC). */
export function runLogFile(logDir: string, command: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return join(logDir, `${command}-${stamp}-${process.pid}.log`);
}

export class StepRunner {
  readonly timings: StepTiming[] = [];
  /** The step started last: where a failure outside any step is reported. */
  current: string;
  private readonly redact: (text: string) => string;

  constructor(private readonly o: StepRunnerOptions) {
    this.current = o.command;
    this.redact = o.redact ?? ((t) => t);
  }

  private emit(e: ProgressEvent): void {
    this.o.onProgress?.(e);
  }

  /** Appends one timestamped line to the run's log (never fails the run: the log is a record, not a result). */
  async log(line: string): Promise<void> {
    const text = `${new Date().toISOString()} ${this.redact(line)}\n`;
    await appendFile(this.o.logFile, text, { mode: 0o600 }).catch(() => undefined);
  }

  /**
   * Opens the log and sweeps what dead runs left in `places` (and the Docker Engine when asked).
   * @throws BuildError when Docker is asked for and cannot be listed.
   */
  async begin(places: SweepPlaces): Promise<void> {
    await mkdir(dirname(this.o.logFile), { recursive: true, mode: 0o700 });
    await this.log(`${this.o.command}: started (pid ${process.pid}, session ${this.o.session})`);
    const swept = sweepSummary(await sweepLeftovers(places));
    if (swept) {
      this.emit({ stage: this.o.command, kind: 'info', message: swept });
      await this.log(`${this.o.command}: ${swept}`);
    }
  }

  /** Reaps this session's containers and images, and logs the run's end. Never throws. */
  async end(ok: boolean): Promise<void> {
    await reapSession(this.o.session);
    const total = this.timings.reduce((a, t) => a + t.ms, 0);
    await this.log(`${this.o.command}: ${ok ? 'finished' : 'failed'}; steps took ${seconds(total)}`);
  }

  /**
   * Runs `fn` as the step `name`: `start`, then `done` with its duration or `failed` (the error is rethrown).
   * @throws the step's error; BuildError naming the step when the run was aborted before it started.
   */
  async step<T>(name: string, fn: (h: StepHandle) => Promise<T>, what?: string): Promise<T> {
    this.current = name;
    if (this.o.signal?.aborted) throw new BuildError(`${name}: aborted`, { stage: name });
    const t0 = Date.now();
    this.emit({ stage: name, kind: 'start', ...(what ? { message: what } : {}) });
    await this.log(`step ${name}: started${what ? ` (${what})` : ''}`);
    try {
      const out = await fn(this.handle(name));
      const ms = Date.now() - t0;
      this.timings.push({ step: name, outcome: 'built', ms });
      await this.log(`step ${name}: done in ${seconds(ms)} (exit 0)`);
      this.emit({ stage: name, kind: 'done', elapsedMs: ms, ...(what ? { message: what } : {}) });
      return out;
    } catch (err) {
      const ms = Date.now() - t0;
      this.timings.push({ step: name, outcome: 'failed', ms });
      // An interrupted step says so, not what the abort made its tool print (the CLI ends with one line for it).
      const why = this.o.signal?.aborted
        ? 'interrupted'
        : ((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '');
      await this.log(`step ${name}: failed after ${seconds(ms)} (exit 1): ${why}`);
      this.emit({ stage: name, kind: 'failed', elapsedMs: ms, message: this.redact(why) });
      throw err;
    }
  }

  /** Records a step whose cached result is used instead of running it (`reused` or `skipped`). */
  async record(name: string, outcome: 'reused' | 'skipped', ms: number, message: string): Promise<void> {
    this.current = name;
    this.timings.push({ step: name, outcome, ms });
    await this.log(`step ${name}: ${outcome}: ${message}`);
    this.emit({ stage: name, kind: outcome, message });
  }

  /** Runs `steps` in order over `ctx`; the first failure stops the list. */
  async run<C>(steps: readonly Step<C>[], ctx: C): Promise<void> {
    for (const s of steps) {
      const t0 = Date.now();
      this.current = s.name;
      if (this.o.signal?.aborted) throw new BuildError(`${s.name}: aborted`, { stage: s.name });
      const hit = s.cached ? await s.cached(ctx) : null;
      if (hit) await this.record(s.name, hit.outcome, Date.now() - t0, hit.message);
      else await this.step(s.name, (h) => s.run(ctx, h), s.describe?.(ctx));
    }
  }

  /** A handle for code that reports under a step's name without being timed as one (e.g. a boot test). */
  handle(name: string): StepHandle {
    const emit = (e: Omit<ProgressEvent, 'stage'>) => this.emit({ stage: name, ...e });
    return {
      name,
      progress: (message, done, total, unit) =>
        emit({
          kind: 'progress',
          message,
          ...(done !== undefined ? { done } : {}),
          ...(total !== undefined ? { total } : {}),
          ...(unit ? { unit } : {}),
        }),
      info: (message) => emit({ kind: 'info', message }),
      warn: (message) => emit({ kind: 'warning', message }),
    };
  }
}
