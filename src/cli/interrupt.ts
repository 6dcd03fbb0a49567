/**
 * SIGINT and SIGTERM for a running command. The first one aborts the command's AbortSignal: the API stops its
 * child processes and removes its containers, temp files and scratch folders, and the command exits 130
 * (SIGINT) or 143 (SIGTERM) with one line. A second signal does not cut that cleanup short (a container or
 * folder removed half-way is worse than one left whole) and only says what is happening; a third exits at
 * once, and whatever is left carries this run's lease, so the next run of any command sweeps it.
 */

/** The exit code of a command stopped by `sig`: 128 + the signal number, as a shell reports it. */
export const INTERRUPT_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

export interface Interrupts {
  /** Aborted by the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The first signal received, if any. */
  received(): 'SIGINT' | 'SIGTERM' | undefined;
  /** Gives SIGINT and SIGTERM back to Node's default handling. */
  release(): void;
}

/** Installs the handlers until {@link Interrupts.release}. */
export function trapInterrupts(write: (line: string) => void = (l) => process.stderr.write(l)): Interrupts {
  const controller = new AbortController();
  let first: 'SIGINT' | 'SIGTERM' | undefined;
  let count = 0;
  const on = (sig: 'SIGINT' | 'SIGTERM') => {
    count++;
    if (count === 1) {
      first = sig;
      write(`image-builder: ${sig}: stopping and cleaning up (containers, temp files, child processes)\n`);
      controller.abort(new Error(`interrupted by ${sig}`));
    } else if (count === 2) {
      write(
        'image-builder: still cleaning up; a third signal exits now and leaves the rest to the next run\n',
      );
    } else {
      write('image-builder: exiting without finishing cleanup; the next run removes what is left\n');
      process.exit(INTERRUPT_EXIT[first ?? sig]);
    }
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    received: () => first,
    release: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
