/**
 * The subset of Jinja the original's variable files use: `{{ name }}` naming another variable of the same
 * file set. A string that is only a template takes the variable's value as it is (so `"{{ ubuntu_packages }}"`
 * becomes the list); a template inside text is replaced by the value as text.
 */
import type { Diagnostic } from '../errors.js';
import { suggestion } from './did-you-mean.js';
import { diagnosticAt, type VarTable, where } from './merge.js';
import type { KeyPath } from './yaml-source.js';

const TEMPLATE = /\{\{(.*?)\}\}/g;
const WHOLE = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Facts Ansible would supply. `ansible_processor_vcpus` is 0, which every consumer reads as "all cores":
 * the build machine is not known when the configuration is read.
 */
export const BUILTIN_FACTS: Readonly<Record<string, unknown>> = { ansible_processor_vcpus: 0 };

/**
 * Resolves the templates of every variable of `table` in place (`entry.resolved`).
 * @returns one error per template that names no variable, is not a plain variable name, or forms a cycle.
 */
export function resolveTemplates(
  table: VarTable,
  facts: Readonly<Record<string, unknown>> = BUILTIN_FACTS,
): Diagnostic[] {
  const diags: Diagnostic[] = [];
  const resolving = new Set<string>();
  const done = new Set<string>();

  const resolveVar = (name: string): unknown => {
    const entry = table.get(name);
    if (!entry) return facts[name];
    if (done.has(name) || resolving.has(name)) return entry.resolved;
    resolving.add(name);
    entry.resolved = walk(name, entry.value, []);
    resolving.delete(name);
    done.add(name);
    return entry.resolved;
  };

  const lookup = (owner: string, ref: string, path: KeyPath): { ok: boolean; value?: unknown } => {
    if (!table.has(ref) && !(ref in facts)) {
      const names = [...table.keys(), ...Object.keys(facts)];
      diags.push(
        diagnosticAt(
          where(table, owner, path),
          `template names unknown variable "${ref}"${suggestion(ref, names)}; only variables of the same files can be used`,
        ),
      );
      return { ok: false };
    }
    if (resolving.has(ref)) {
      diags.push(diagnosticAt(where(table, owner, path), `template "{{ ${ref} }}" refers back to itself`));
      return { ok: false };
    }
    return { ok: true, value: resolveVar(ref) };
  };

  const walk = (owner: string, value: unknown, path: KeyPath): unknown => {
    if (typeof value === 'string') return resolveString(owner, value, path);
    if (Array.isArray(value)) return value.map((v, i) => walk(owner, v, [...path, i]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(owner, v, [...path, k]);
      return out;
    }
    return value;
  };

  const resolveString = (owner: string, s: string, path: KeyPath): unknown => {
    if (!s.includes('{{')) return s;
    const whole = WHOLE.exec(s);
    if (whole) {
      const r = lookup(owner, whole[1]!, path);
      return r.ok ? r.value : s;
    }
    return s.replace(TEMPLATE, (match, inner: string) => {
      const expr = inner.trim();
      if (!IDENT.test(expr)) {
        diags.push(
          diagnosticAt(
            where(table, owner, path),
            `unsupported template "${match}": only {{ variable_name }} is understood (no filters or expressions)`,
          ),
        );
        return match;
      }
      const r = lookup(owner, expr, path);
      if (!r.ok) return match;
      if (r.value !== null && typeof r.value === 'object') {
        diags.push(
          diagnosticAt(
            where(table, owner, path),
            `"{{ ${expr} }}" is a list or mapping and cannot be placed inside text`,
          ),
        );
        return match;
      }
      return String(r.value ?? '');
    });
  };

  for (const name of table.keys()) resolveVar(name);
  return diags;
}
