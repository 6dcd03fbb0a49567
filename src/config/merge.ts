/**
 * Variables merged over their layers as Ansible would: a variable in a later file replaces the same variable
 * of an earlier one (built-in defaults < bundled defaults < the user's folder < the profile overlay); then
 * each `X_append` list is added to the end of the list `X`.
 */
import type { Diagnostic, SourcePosition } from '../errors.js';
import { formatKeyPath, type KeyPath, type Source } from './yaml-source.js';

/** One contribution to a variable: the source file and the path of the value inside it. */
export interface VarPart {
  source: Source;
  path: KeyPath;
  /** Number of list items contributed, when the variable is a concatenation. */
  count?: number;
}

export interface VarEntry {
  /** As read (after `*_append` concatenation). */
  value: unknown;
  /** After `{{ var }}` templates are resolved. */
  resolved?: unknown;
  parts: VarPart[];
}

export type VarTable = Map<string, VarEntry>;

/** Where a value of the merged table was written. */
export interface Where {
  file: string;
  key: string;
  position?: SourcePosition;
  /** The variable a whole-value template (`"{{ debian_packages }}"`) at this place takes its value from. */
  via?: string;
}

const WHOLE_TEMPLATE = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$/;

/** Later sources win per top-level variable. */
export function mergeLayers(sources: readonly Source[]): VarTable {
  const table: VarTable = new Map();
  for (const source of sources) {
    for (const [k, value] of Object.entries(source.vars)) {
      table.set(k, { value, parts: [{ source, path: [k] }] });
    }
  }
  return table;
}

/**
 * Finds the file, key path and line:column of `path` inside variable `name` (of the key itself with `atKey`).
 * Follows items that came from an `X_append` variable to that variable's file, and follows a whole-value
 * template (`packages: "{{ debian_packages }}"`) to the variable it names, so an error in a package list
 * points at the list itself.
 */
export function where(table: VarTable, name: string, path: KeyPath, atKey = false, depth = 0): Where {
  const entry = table.get(name);
  if (!entry || entry.parts.length === 0)
    return { file: '(built-in default)', key: formatKeyPath([name, ...path]) };
  let part = entry.parts[0]!;
  let sub = path;
  if (entry.parts.length > 1 && typeof path[0] === 'number') {
    let index = path[0];
    for (const p of entry.parts) {
      part = p;
      if (index < (p.count ?? 0)) break;
      index -= p.count ?? 0;
    }
    sub = [index, ...path.slice(1)];
  }
  const full = [...part.path, ...sub];
  const located = part.source.locate(full, atKey);
  const m = located.scalar === undefined ? null : WHOLE_TEMPLATE.exec(located.scalar);
  if (m && located.rest.length > 0 && table.has(m[1]!) && depth < 8) {
    return where(table, m[1]!, located.rest, atKey, depth + 1);
  }
  const out: Where = { file: part.source.file, key: formatKeyPath(full), position: located.position };
  if (m && located.rest.length === 0) out.via = m[1]!;
  return out;
}

export function diagnosticAt(
  w: Where,
  message: string,
  severity: Diagnostic['severity'] = 'error',
): Diagnostic {
  return { severity, file: w.file, key: w.key, position: w.position, message };
}

/**
 * Concatenates every `X_append` list onto `X`, for `X` a list variable (present, or in `knownLists`).
 * `grub_cmdline_linux_default_append` and other names in `reserved` are real variables, not appends.
 * Runs before templates, so `debian_packages_append` also reaches `packages: "{{ debian_packages }}"`.
 */
export function applyAppends(
  table: VarTable,
  knownLists: ReadonlySet<string>,
  reserved: ReadonlySet<string>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [name, entry] of [...table]) {
    if (!name.endsWith('_append') || reserved.has(name)) continue;
    const baseName = name.slice(0, -'_append'.length);
    const base = table.get(baseName);
    if (!base && !knownLists.has(baseName) && !/_packages$/.test(baseName)) continue;
    const add = entry.value ?? [];
    if (!Array.isArray(add)) {
      out.push(diagnosticAt(where(table, name, []), `expected a list to append to ${baseName}`));
      continue;
    }
    const before = base?.value ?? [];
    if (!Array.isArray(before)) {
      out.push(
        diagnosticAt(where(table, name, []), `${baseName} must be a list for ${name} to be appended to it`),
      );
      continue;
    }
    const baseParts = base ? base.parts.map((p) => ({ ...p, count: p.count ?? before.length })) : [];
    table.set(baseName, {
      value: [...before, ...add],
      parts: [...baseParts, ...entry.parts.map((p) => ({ ...p, count: add.length }))],
    });
    table.delete(name);
  }
  return out;
}
