/** Checks every variable of a merged, templated table against its file's schema. */
import type { z } from 'zod';
import type { Diagnostic } from '../errors.js';
import { suggestion } from './did-you-mean.js';
import { diagnosticAt, type VarTable, where } from './merge.js';
import type { VarsKind } from './schemas/kind.js';

export interface Validated {
  /** Parsed values of the variables the file knows (only those present in the table). */
  values: Record<string, unknown>;
  /** Every other variable (pattern matches, ignored and unknown ones) as resolved. */
  extra: Record<string, unknown>;
  diagnostics: Diagnostic[];
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.filter((p): p is string | number => typeof p !== 'symbol');
}

/** Maps one schema issue to a finding at the value's (or, for an unknown key, the key's) position. */
function issueDiagnostic(
  table: VarTable,
  name: string,
  issue: z.core.$ZodIssue,
): Diagnostic & { via?: string } {
  const path = toPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const w = where(table, name, [...path, issue.keys[0]!], true);
    return { ...diagnosticAt(w, issue.message), via: w.via };
  }
  const message = issue.message.replace(/^Invalid input: /, '');
  const w = where(table, name, path);
  return { ...diagnosticAt(w, message), via: w.via };
}

/** Parses one value with a schema, reporting issues against `name`. */
export function parseVar(
  table: VarTable,
  name: string,
  schema: z.ZodType,
  value: unknown,
): { ok: true; data: unknown } | { ok: false; diagnostics: (Diagnostic & { via?: string })[] } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, data: r.data };
  return { ok: false, diagnostics: r.error.issues.map((i) => issueDiagnostic(table, name, i)) };
}

export function validateTable(table: VarTable, kind: VarsKind): Validated {
  const out: Validated = { values: {}, extra: {}, diagnostics: [] };
  const failed = new Map<string, (Diagnostic & { via?: string })[]>();
  const knownNames = [...Object.keys(kind.vars), ...kind.lists].map(String);
  for (const [name, entry] of table) {
    const value = 'resolved' in entry ? entry.resolved : entry.value;
    const schema = kind.vars[name] ?? kind.patterns.find((p) => p.re.test(name))?.schema;
    if (schema) {
      const r = parseVar(table, name, schema, value);
      if (!r.ok) failed.set(name, r.diagnostics);
      else if (kind.vars[name]) out.values[name] = r.data;
      else out.extra[name] = r.data;
      continue;
    }
    out.extra[name] = value;
    const w = where(table, name, [], true);
    if (w.file === '(built-in default)') continue;
    if (kind.ignored.has(name)) {
      out.diagnostics.push(
        diagnosticAt(
          w,
          `${name} named a path inside the original's build container; it has no effect here and is ignored`,
          'warning',
        ),
      );
    } else {
      out.diagnostics.push(
        diagnosticAt(
          w,
          `unknown ${kind.title} variable "${name}"${suggestion(name, knownNames)}; kept as is (usable in templates)`,
          'warning',
        ),
      );
    }
  }
  // A value copied whole from a variable that is itself wrong repeats that variable's error: report it once.
  for (const diags of failed.values()) {
    for (const { via, ...d } of diags) if (!via || !failed.has(via)) out.diagnostics.push(d);
  }
  return out;
}
