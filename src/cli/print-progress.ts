/**
 * `printProgress`: plain progress lines on stderr for commands that do not take `--progress` yet
 * (package-qcow). The same lines as the renderer's plain form (src/cli/progress-render.ts).
 */
import type { ProgressEvent } from '../api.js';
import { createRenderer } from './progress-render.js';

const plain = createRenderer('plain');

/** One line per progress event on stderr, so stdout keeps only results. */
export function printProgress(e: ProgressEvent): void {
  plain.listener(e);
}
