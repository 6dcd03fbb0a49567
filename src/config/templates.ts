/**
 * The subset of Jinja the original's variable files use: `{{ name }}` naming another variable of the same
 * file set, on one line. A string that is only a template takes the variable's value as it is (so
 * `"{{ ubuntu_packages }}"` becomes the list); a template inside text is replaced by the value as text.
 * Anything else Jinja would act on (`{%`, `{#`, filters, calls, attribute access, a `{{` spanning lines), in a
 * value or in a key, is an error: it is not resolved here, and Ansible never templates user data (it is handed
 * over marked unsafe), so it could only have taken effect by running on the build host.
 */
import type { Diagnostic } from '../errors.js';
import { suggestion } from './did-you-mean.js';
import { diagnosticAt, type VarTable, where } from './merge.js';
import type { KeyPath } from './yaml-source.js';

/** What Jinja starts a construct with: expression, statement, comment. */
const JINJA_OPEN = /\{[{%#]/;
/** `{{ name }}` at the current position; blanks but no line breaks inside. */
const SIMPLE = /\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\}\}/y;
const WHOLE = /^\s*\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\}\}\s*$/;

/**
 * Facts Ansible would supply. `ansible_processor_vcpus` is 0, which every consumer reads as "all cores":
 * the build machine is not known when the configuration is read.
 */
export const BUILTIN_FACTS: Readonly<Record<string, unknown>> = { ansible_processor_vcpus: 0 };

/** What {@link resolveTemplates} found. */
export interface TemplateResult {
  diagnostics: Diagnostic[];
  /** Variables some template names (they take effect through it even when the role does not know them). */
  referenced: Set<string>;
}

function shorten(s: string): string {
  const one = s.replace(/\r?\n/g, '⏎');
  return one.length > 60 ? `${one.slice(0, 60)}…` : one;
}

/** Why a Jinja-looking piece of text at `at` is not our subset. */
function unsupported(s: string, at: number): string {
  const kind = s[at + 1];
  const piece = shorten(s.slice(at, at + 60));
  if (kind === '%')
    return `Jinja statement "${piece}" is not supported: only {{ variable_name }} is understood`;
  if (kind === '#') {
    return `"${piece}" reads as a Jinja comment; only {{ variable_name }} is understood (text with "{#" cannot be used)`;
  }
  const close = s.indexOf('}}', at);
  const inner = close < 0 ? s.slice(at) : s.slice(at, close + 2);
  if (close < 0) return `unterminated template "${piece}": only {{ variable_name }} is understood`;
  if (/[\r\n]/.test(inner))
    return `template "${shorten(inner)}" spans lines: only {{ variable_name }} on one line is understood`;
  return `unsupported template "${shorten(inner)}": only {{ variable_name }} is understood (no filters, calls or expressions)`;
}

/**
 * `s` with each `{{ name }}` replaced by its value as text; undefined, after `fail` is told why, when a piece
 * is not our subset or a value is a list or mapping. `lookup` reports its own failures.
 */
function interpolate(
  s: string,
  lookup: (name: string) => { ok: boolean; value?: unknown },
  fail: (message: string) => void,
): string | undefined {
  let out = '';
  let i = 0;
  for (;;) {
    const rel = s.slice(i).search(JINJA_OPEN);
    if (rel < 0) return out + s.slice(i);
    const at = i + rel;
    out += s.slice(i, at);
    SIMPLE.lastIndex = at;
    const m = SIMPLE.exec(s);
    if (!m) {
      fail(unsupported(s, at));
      return undefined;
    }
    const expr = m[1]!;
    i = at + m[0].length;
    const r = lookup(expr);
    if (!r.ok) return undefined;
    if (r.value !== null && typeof r.value === 'object') {
      fail(`"{{ ${expr} }}" is a list or mapping and cannot be placed inside text`);
      return undefined;
    }
    out += String(r.value ?? '');
  }
}

/**
 * Resolves the templates of every variable of `table` in place (`entry.resolved`).
 * @returns one error per template that names no variable, is not a plain variable name, forms a cycle, or per
 *   key holding template syntax; and the names templates refer to.
 */
export function resolveTemplates(
  table: VarTable,
  facts: Readonly<Record<string, unknown>> = BUILTIN_FACTS,
): TemplateResult {
  const diags: Diagnostic[] = [];
  const referenced = new Set<string>();
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
    referenced.add(ref);
    return { ok: true, value: resolveVar(ref) };
  };

  const walk = (owner: string, value: unknown, path: KeyPath): unknown => {
    if (typeof value === 'string') return resolveString(owner, value, path);
    if (Array.isArray(value)) return value.map((v, i) => walk(owner, v, [...path, i]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const at = k.search(JINJA_OPEN);
        if (at >= 0) {
          diags.push(
            diagnosticAt(where(table, owner, [...path, k], true), `in a key: ${unsupported(k, at)}`),
          );
        }
        out[k] = walk(owner, v, [...path, k]);
      }
      return out;
    }
    return value;
  };

  const resolveString = (owner: string, s: string, path: KeyPath): unknown => {
    if (!JINJA_OPEN.test(s)) return s;
    const whole = WHOLE.exec(s);
    if (whole) {
      const r = lookup(owner, whole[1]!, path);
      return r.ok ? r.value : s;
    }
    const fail = (message: string) => diags.push(diagnosticAt(where(table, owner, path), message));
    return interpolate(s, (name) => lookup(owner, name, path), fail) ?? s;
  };

  for (const name of table.keys()) resolveVar(name);
  return { diagnostics: diags, referenced };
}
