/**
 * The live area of the TTY renderer: one line per running step (phase, bytes or count, percent, ETA, elapsed
 * time) at the bottom of the terminal, redrawn in place; what is final (a step done, failed, reused, an info
 * or a warning) is printed above it and scrolls away like plain output.
 */
import type { ProgressEvent } from '../api.js';
import { amount, duration, plainLine } from './progress-format.js';
import type { OutStream } from './progress-render.js';

interface Running {
  startedAt: number;
  phase?: string;
  /** The last progress event of the phase, and where its rate is measured from. */
  last?: ProgressEvent;
  phaseStart?: { at: number; done: number };
}

const SPIN = ['-', '\\', '|', '/'];
/** Redraws at most this often, and at least this often while anything runs (elapsed time moves). */
const FRAME_MS = 200;
const TICK_MS = 1000;

/** `ETA m:ss` from the rate since the phase began; '' when there is no total or too little to go by. */
export function eta(r: Running, now: number): string {
  const e = r.last;
  if (!e || e.total === undefined || e.done === undefined || e.unit !== 'bytes' || !r.phaseStart) return '';
  const ms = now - r.phaseStart.at;
  const moved = e.done - r.phaseStart.done;
  if (ms < 2000 || moved <= 0) return '';
  const left = ((e.total - e.done) / moved) * ms;
  return `ETA ${duration(Math.max(0, left))}`;
}

export class LiveArea {
  private readonly running = new Map<string, Running>();
  private drawn = 0;
  private frame = 0;
  private lastDraw = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: OutStream,
    private readonly now: () => number,
  ) {}

  update(e: ProgressEvent): void {
    const r = this.running.get(e.stage);
    if (e.kind === 'start') {
      this.running.set(e.stage, { startedAt: this.now() });
      this.print(plainLine(e));
    } else if (e.kind === 'progress') {
      const step = r ?? { startedAt: this.now() };
      this.running.set(e.stage, step);
      if (step.phase !== e.message) {
        step.phase = e.message;
        step.phaseStart = { at: this.now(), done: e.done ?? 0 };
      }
      step.last = e;
      if (this.now() - this.lastDraw >= FRAME_MS) this.draw();
      return;
    } else {
      if (e.kind === 'done' || e.kind === 'failed') this.running.delete(e.stage);
      this.print(plainLine(e));
    }
    this.schedule();
  }

  /** Clears the live lines and stops redrawing. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private schedule(): void {
    if (this.running.size && !this.timer) {
      this.timer = setInterval(() => this.draw(), TICK_MS);
      this.timer.unref();
    } else if (!this.running.size && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private clear(): void {
    // Up to the first live line, then erase to the end of the screen.
    if (this.drawn) this.out.write(`\r\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  /** A final line above the live area. */
  private print(line: string | null): void {
    this.clear();
    if (line !== null) this.out.write(`${line}\n`);
    this.draw();
  }

  private draw(): void {
    this.clear();
    const now = this.now();
    this.lastDraw = now;
    this.frame = (this.frame + 1) % SPIN.length;
    const cols = Math.max(20, (this.out.columns || 80) - 1);
    const lines = [...this.running].map(([stage, r]) => {
      const parts = [`${SPIN[this.frame]} ${stage}`];
      if (r.phase) parts.push(r.phase);
      if (r.last) {
        const a = amount(r.last);
        if (a) parts.push(a);
      }
      const left = eta(r, now);
      if (left) parts.push(left);
      parts.push(`[${duration(now - r.startedAt)}]`);
      return parts.join('  ').slice(0, cols);
    });
    if (lines.length) this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
