import { ConfigError, exitCodeOf, formatDiagnostic } from '../api.js';

/** Runs a command action, prints the error the way users need it and sets the exit code. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.exitCode = exitCodeOf(err);
      if (err instanceof ConfigError) {
        for (const d of err.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
        process.stderr.write(`image-builder: configuration has ${err.diagnostics.length} error(s)\n`);
        return;
      }
      const e = err instanceof Error ? err : new Error(String(err));
      process.stderr.write(`image-builder: ${e.message}\n`);
      if (process.env.IMAGE_BUILDER_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
    }
  };
}

/** Prints warnings from the config loader to stderr. */
export function printWarnings(warnings: readonly Parameters<typeof formatDiagnostic>[0][]): void {
  for (const w of warnings) process.stderr.write(`${formatDiagnostic(w)}\n`);
}
