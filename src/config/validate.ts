/** Checks every variable of a merged, templated table against its file's schema. */
import type { z } from 'zod';
import type { Diagnostic } from '../errors.js';
import { suggestion } from './did-you-mean.js';
import { diagnosticAt, type VarTable, where } from './merge.js';
import { reservedReason } from './reserved.js';
import { listsOf, type VarsKind } from './schemas/kind.js';

export interface Validated {
  /** Parsed values of the variables the file knows (only those present in the table). */
  values: Record<string, unknown>;
  /**
   * Every other variable as resolved: pattern matches (`debian_packages`), variables of the original that have
   * no effect here, and unknown ones a template uses. Shown by `config`, never handed to the role.
   */
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

/**
 * Validates every variable of `table`: a reserved name (Ansible's, the role's own) is an error wherever it is
 * written; a known one is parsed with its schema; an unknown one is an error unless a template uses it
 * (`packages: "{{ debian_packages }}"`) or it comes from the bundled defaults, since it would have no effect.
 * @param referenced names some template of the table uses.
 */
export function validateTable(
  table: VarTable,
  kind: VarsKind,
  referenced: ReadonlySet<string> = new Set(),
): Validated {
  const out: Validated = { values: {}, extra: {}, diagnostics: [] };
  const failed = new Map<string, (Diagnostic & { via?: string })[]>();
  const knownNames = [...new Set([...Object.keys(kind.vars), ...listsOf(kind)])];
  for (const [name, entry] of table) {
    const value = 'resolved' in entry ? entry.resolved : entry.value;
    const w = where(table, name, [], true);
    const reserved = reservedReason(name);
    if (reserved) {
      out.diagnostics.push(diagnosticAt(w, reserved));
      continue;
    }
    const ours = w.file === '(built-in default)' || entry.parts.every((p) => p.source.bundled);
    const schema = kind.vars[name] ?? kind.patterns.find((p) => p.re.test(name))?.schema;
    if (schema) {
      const r = parseVar(table, name, schema, value);
      if (!r.ok) failed.set(name, r.diagnostics);
      else if (kind.vars[name]) {
        out.values[name] = r.data;
        if (kind.templateOnly?.has(name) && !ours && !referenced.has(name)) {
          out.diagnostics.push(
            diagnosticAt(
              w,
              `${name} acts only through a template that names it (e.g. "{{ ${name} }}" in a repo's packages), and none does here, so it would have no effect${name === 'k8s_version' ? "; no repo installs Kubernetes (DISTRO=ubuntu_focal has the original's Kubernetes repository)" : ''}`,
            ),
          );
        }
      } else {
        out.extra[name] = r.data;
        // A `<name>_packages` list only acts through a template that names it.
        if (!ours && !referenced.has(name)) {
          out.diagnostics.push(
            diagnosticAt(
              w,
              `package list "${name}" is named by no template (e.g. packages: "{{ ${name} }}" in a repo), so it would have no effect`,
            ),
          );
        }
      }
      continue;
    }
    out.extra[name] = value;
    if (ours) continue;
    const fixed = kind.containerPaths.get(name);
    if (fixed) {
      if (String(value) !== fixed.value) {
        out.diagnostics.push(
          diagnosticAt(
            w,
            `${name} is a fixed path of the original's build container (${fixed.value}: here ${fixed.here}); it cannot be changed, so ${JSON.stringify(value)} would have no effect: remove it`,
          ),
        );
      }
    } else if (!referenced.has(name)) {
      out.diagnostics.push(
        diagnosticAt(
          w,
          `unknown ${kind.title} variable "${name}"${suggestion(name, knownNames)}; no template uses it, so it would have no effect (known: ${knownNames.join(', ')})`,
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
