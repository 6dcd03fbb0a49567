/**
 * The wrapper of every command action: abort on SIGINT/SIGTERM, errors printed with their exit code.
 */
import { ConfigError, exitCodeOf, formatDiagnostic } from '../api.js';
import { INTERRUPT_EXIT, trapInterrupts } from './interrupt.js';

/**
 * Runs a command action with an AbortSignal that SIGINT/SIGTERM abort (see interrupt.ts), prints the error
 * the way users need it and sets the exit code. An interrupted command ends with one line and 130/143, not
 * with the error its abort caused.
 */
export function action<A extends unknown[]>(
  fn: (signal: AbortSignal, ...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const interrupts = trapInterrupts();
    try {
      await fn(interrupts.signal, ...args);
    } catch (err) {
      if (interrupts.received()) {
        if (process.env.IMAGE_BUILDER_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
        return;
      }
      process.exitCode = exitCodeOf(err);
      if (err instanceof ConfigError) {
        for (const d of err.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
        process.stderr.write(`image-builder: configuration has ${err.diagnostics.length} error(s)\n`);
        return;
      }
      const e = err instanceof Error ? err : new Error(String(err));
      process.stderr.write(`image-builder: ${e.message}\n`);
      if (process.env.IMAGE_BUILDER_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
    } finally {
      const sig = interrupts.received();
      // After a signal the handlers stay until the process exits, so a late second or third signal still ends
      // it with 130/143 rather than Node's default death by signal.
      if (!sig) interrupts.release();
      if (sig) {
        process.exitCode = INTERRUPT_EXIT[sig];
        process.stderr.write(`image-builder: interrupted by ${sig}; cleaned up\n`);
      }
    }
  };
}

/** Prints warnings from the config loader to stderr. */
export function printWarnings(warnings: readonly Parameters<typeof formatDiagnostic>[0][]): void {
  for (const w of warnings) process.stderr.write(`${formatDiagnostic(w)}\n`);
}
