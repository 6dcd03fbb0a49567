/** One file set taken from its layers to validated values: merge, append, template, validate. */
import type { Diagnostic } from '../errors.js';
import { applyAppends, mergeLayers, type VarTable } from './merge.js';
import { defaultsOf, listsOf, typedVars, type VarsKind, type VarsOf } from './schemas/kind.js';
import { resolveTemplates } from './templates.js';
import { type Validated, validateTable } from './validate.js';
import { builtinSource, type Source } from './yaml-source.js';

export interface LoadedTable<K extends VarsKind = VarsKind> extends Validated {
  table: VarTable;
  /** Every variable the file knows, typed: the values that passed their schema over the defaults. */
  vars: VarsOf<K>;
}

/** Known names ending in `_append` (`grub_cmdline_linux_default_append`) are variables of their own, not appends. */
const ownAppends = (kind: VarsKind) => new Set(Object.keys(kind.vars).filter((k) => k.endsWith('_append')));

/** Merges `sources` over the kind's defaults (the built-in layer), applies appends and templates, validates. */
export function loadTable<K extends VarsKind>(sources: readonly Source[], kind: K): LoadedTable<K> {
  const diagnostics: Diagnostic[] = sources.flatMap((s) => s.problems);
  const table = mergeLayers([builtinSource(defaultsOf(kind)), ...sources]);
  diagnostics.push(...applyAppends(table, listsOf(kind), ownAppends(kind)));
  const templates = resolveTemplates(table);
  diagnostics.push(...templates.diagnostics);
  const v = validateTable(table, kind, templates.referenced);
  // A value whose template was refused is still the template text: its schema finding would repeat the point.
  const at = (d: Diagnostic) => `${d.file}:${d.position?.line}:${d.position?.column}`;
  const templated = new Set(templates.diagnostics.filter((d) => d.position).map(at));
  const rest = v.diagnostics.filter((d) => !templated.has(at(d)));
  return {
    table,
    values: v.values,
    vars: typedVars(kind, v.values),
    extra: v.extra,
    diagnostics: [...diagnostics, ...rest],
  };
}
