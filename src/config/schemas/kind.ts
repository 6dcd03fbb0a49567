/**
 * `VarsKind`: what the loader needs to know about one kind of variables file (its schema, role defaults,
 * list keys, name patterns,
 * template-only keys, paths of the original's container).
 */
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
  /** Known variables that act only through a template naming them (`kubelet={{ k8s_version }}`). */
  readonly templateOnly?: ReadonlySet<string>;
  /**
   * Variables of the original that named fixed paths inside its build container, each with the original's
   * value and what that value is here. The original's value is what happens here too, so a copy of the
   * original's defaults loads; any other value is refused (it could not take effect).
   */
  readonly containerPaths: ReadonlyMap<string, { value: string; here: string }>;
}
