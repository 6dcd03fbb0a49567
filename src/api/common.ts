import type { Settings } from '../config/settings.js';

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

/** Options every API call takes. */
export interface CommonOptions {
  /** Resolved settings; defaults apply to keys left out. */
  settings?: Partial<Settings>;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}
