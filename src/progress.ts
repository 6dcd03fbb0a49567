/**
 * Progress events: what every long step reports, defined below the stages so each layer can name them. The
 * CLI renders them (src/cli/progress-render.ts) as a live TTY line, plain lines or JSON; docs/progress.md is
 * the schema tools can rely on.
 */

/**
 * What `done`/`total` count. `bytes` and `s` (seconds, e.g. of a boot test's time limit) let a renderer show a
 * percentage and an ETA; `entries` (files scanned) is shown as a count.
 */
export type ProgressUnit = 'bytes' | 'entries' | 's';

/**
 * A progress report from a long-running operation.
 *
 * A step's life is `start` → any number of `progress`/`info`/`warning` → `done` (or `failed`); a cached step
 * reports only `reused` or `skipped`. `stage` names the step (`rootfs`, `iso`, `qcow:control-plane`,
 * `boot:ephemeral.iso:bios`); events of steps that run side by side interleave.
 */
export interface ProgressEvent {
  /** Stage or step name, e.g. `rootfs`, `squashfs`, `iso`, `qcow:<bundle>`. */
  stage: string;
  kind: 'start' | 'progress' | 'done' | 'failed' | 'reused' | 'skipped' | 'info' | 'warning';
  /** Free text; for `progress` the phase within the step (`extract`, `mkfs /`, `convert`, `data`, …). */
  message?: string;
  /**
   * Units done and, when known, the total for `progress` (`unit` says which). Both are counts from the start of
   * the phase named by `message`, so a new phase starts at 0 again.
   */
  done?: number;
  total?: number;
  unit?: ProgressUnit;
  /** Milliseconds since the step started, on `done` and `failed`. */
  elapsedMs?: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

/**
 * A `progress` event for `done` of `total` units of the phase `message` — the one shape for bytes or seconds, so
 * every renderer can show a percentage and an ETA.
 */
export function progressOf(
  stage: string,
  message: string,
  done: number,
  total: number | undefined,
  unit: ProgressUnit,
): ProgressEvent {
  return { stage, kind: 'progress', message, done, ...(total !== undefined ? { total } : {}), unit };
}

/** Percent done (0–100, one decimal) of an event that carries a total, else undefined. */
export function percentOf(e: ProgressEvent): number | undefined {
  if (e.done === undefined || e.total === undefined || e.total <= 0) return undefined;
  return Math.min(100, Math.round((e.done / e.total) * 1000) / 10);
}
