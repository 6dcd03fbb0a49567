/** The result shape every environment probe returns. */

export interface ProbeResult {
  /** Stable id, e.g. `docker`, `tool:xorriso`, `kvm`. */
  id: string;
  /** What was checked, for humans. */
  title: string;
  /** `ok`; `missing` (not installed); `warn` (works, but worse: TCG, little disk); `error` (installed, broken). */
  status: 'ok' | 'missing' | 'warn' | 'error';
  /** Version, path or the reason it failed. */
  detail: string;
  /** Commands that need it. */
  neededBy: string[];
  /** Debian package that provides it. */
  debianPackage?: string;
  /** What to do when it is not ok. */
  fix?: string;
}
