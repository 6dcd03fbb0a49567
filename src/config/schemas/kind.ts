import type { z } from 'zod';

/** What one kind of vars file knows. */
export interface VarsKind {
  /** Name used in messages, e.g. `osconfig`. */
  readonly title: string;
  /** Schema of each variable the file knows. */
  readonly vars: Readonly<Record<string, z.ZodType>>;
  /** Known variables that are lists, so `X_append` works even when `X` is not set anywhere. */
  readonly lists: ReadonlySet<string>;
  /** Variables matched by name, e.g. `<name>_packages`. */
  readonly patterns: readonly { re: RegExp; schema: z.ZodType }[];
  /**
   * Variables of the original that only described paths inside its build container. Accepted so that a copy of
   * the original's defaults loads, reported as having no effect.
   */
  readonly ignored: ReadonlySet<string>;
}
