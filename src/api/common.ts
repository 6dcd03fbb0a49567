/**
 * Options every API call shares (settings, abort signal, progress listener); the progress types themselves live
 * in src/progress.ts.
 */
import type { Settings } from '../config/settings.js';
import type { ProgressListener } from '../progress.js';

export type { ProgressEvent, ProgressListener, ProgressUnit } from '../progress.js';

/** Options every API call takes. */
export interface CommonOptions {
  /** Resolved settings; defaults apply to keys left out. */
  settings?: Partial<Settings>;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}
