/** Progress events: what every long step reports, defined below the stages so each layer can name them. */

/** A progress report from a long-running operation. */
export interface ProgressEvent {
  /** Stage or step name, e.g. `rootfs`, `squashfs`, `iso`. */
  stage: string;
  kind: 'start' | 'progress' | 'done' | 'reused' | 'skipped' | 'info' | 'warning';
  message?: string;
  /** Units done and total for `progress` (bytes, entries, …; `unit` says which). */
  done?: number;
  total?: number;
  unit?: string;
  /** Milliseconds since the stage started, on `done`. */
  elapsedMs?: number;
}

export type ProgressListener = (event: ProgressEvent) => void;
