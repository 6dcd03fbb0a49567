/**
 * Error classes shared by every layer. The CLI maps them to exit codes:
 * {@link UsageError} and {@link ConfigError} exit 2, everything else exits 1.
 */

/** A position in a configuration file, 1-based. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One finding about a configuration file. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Path of the file the finding is about, as the user gave it. */
  file: string;
  /** Key path inside the file, e.g. `partitions[1].part_end`; empty for the whole file. */
  key: string;
  position?: SourcePosition;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.position ? `${d.file}:${d.position.line}:${d.position.column}` : d.file;
  const key = d.key ? ` ${d.key}:` : '';
  return `${d.severity}: ${where}:${key} ${d.message}`;
}

/** Wrong flags or arguments on the command line. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

/** The configuration folder has errors. Exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly exitCode = 2;
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}

/** A stage failed while building. Exit code 1. */
export class BuildError extends Error {
  override name = 'BuildError';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly details: { stage?: string; logFile?: string; logTail?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A command that exists in the CLI but is not built yet. Exit code 1, never a fake success. */
export class NotImplementedError extends Error {
  override name = 'NotImplementedError';
  readonly exitCode = 1;
  constructor(what: string) {
    super(`${what} is not implemented yet`);
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return 2;
  return 1;
}
