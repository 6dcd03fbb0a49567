/**
 * `VarsKind`: what the loader needs to know about one kind of variables file (the schema of each variable,
 * carrying its default; name patterns; template-only keys; paths of the original's container), and the typed
 * values a file set of that kind yields.
 */
import type { z } from 'zod';

/** The schema of each variable of a file, by name. */
export type VarShape = Readonly<Record<string, z.ZodType>>;

/** What one kind of vars file knows. */
export interface VarsKind<S extends VarShape = VarShape> {
  /** Name used in messages, e.g. `osconfig`. */
  readonly title: string;
  /**
   * Schema of each variable the file knows. Each carries its default (`.default(...)`, the equivalent of the
   * original's role defaults) or is `.optional()`; the defaults are the bottom layer below every file.
   */
  readonly vars: S;
  /** Variables matched by name, e.g. `<name>_packages`. */
  readonly patterns: readonly { re: RegExp; schema: z.ZodType }[];
  /** Known variables that act only through a template naming them (`kubelet={{ k8s_version }}`). */
  readonly templateOnly?: ReadonlySet<string>;
  /**
   * Variables of the original that named fixed paths inside its build container, each with the original's
   * value and what that value is here. The original's value is what happens here too, so a copy of the
   * original's defaults loads; any other value is refused (it could not take effect).
   */
  readonly containerPaths: ReadonlyMap<string, ContainerPath>;
}

/** What a fixed path of the original's build container was, and what it is here. */
export interface ContainerPath {
  value: string;
  here: string;
}

/** A kind of vars file: its variables, the original's container paths, and patterns or template-only keys. */
export function varsKind<S extends VarShape>(
  title: string,
  vars: S,
  containerPaths: Readonly<Record<string, ContainerPath>>,
  more: Partial<Pick<VarsKind, 'patterns' | 'templateOnly'>> = {},
): VarsKind<S> {
  return { title, vars, patterns: [], ...more, containerPaths: new Map(Object.entries(containerPaths)) };
}

/** The typed values of one kind of file: every variable it knows, as its schema gives it. */
export type VarsOf<K extends VarsKind> = z.output<z.ZodObject<K['vars']>>;

/**
 * Each variable's default, as a vars file would give it: the built-in layer below every file, so defaults pass
 * through the same appends, templating and validation as the user's values.
 */
export function defaultsOf(kind: VarsKind): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(kind.vars)) {
    const r = schema.safeParse(undefined);
    if (r.success && r.data !== undefined) out[name] = structuredClone(r.data);
  }
  return out;
}

/**
 * Known variables that are lists (their default is one), so `X_append` works. `*_append` variables are
 * variables of their own (`grub_cmdline_linux_default_append`), never appended to.
 */
export function listsOf(kind: VarsKind): Set<string> {
  const d = defaultsOf(kind);
  return new Set(Object.keys(d).filter((k) => Array.isArray(d[k]) && !k.endsWith('_append')));
}

/**
 * The typed values of a file set: the variables that passed their schema over every variable's default. A
 * variable that failed keeps its default here; the load fails on its finding before these values are used.
 */
export function typedVars<K extends VarsKind>(kind: K, parsed: Readonly<Record<string, unknown>>): VarsOf<K> {
  // Every key holds the output of its own schema (validateTable) or the schema's default.
  return { ...defaultsOf(kind), ...parsed } as VarsOf<K>;
}

/** Splits typed values into the named keys and the rest (kept as `extra`, for display and templates). */
export function pick<T extends object, K extends keyof T>(
  values: T,
  keys: readonly K[],
): { picked: Pick<T, K>; rest: Record<string, unknown> } {
  const picked = {} as Pick<T, K>;
  for (const k of keys) picked[k] = values[k];
  const wanted = new Set<PropertyKey>(keys);
  const rest = Object.fromEntries(Object.entries(values).filter(([k]) => !wanted.has(k)));
  return { picked, rest };
}

/** Splits typed values into all but the named keys and the named ones (kept as `extra`). */
export function omit<T extends object, K extends keyof T>(
  values: T,
  keys: readonly K[],
): { kept: Omit<T, K>; dropped: Record<string, unknown> } {
  const { picked, rest } = pick(values, keys);
  // `rest` holds exactly the keys of T other than K.
  return { kept: rest as Omit<T, K>, dropped: picked };
}
