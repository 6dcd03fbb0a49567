/** One file set taken from its layers to validated values: merge, append, template, validate. */
import type { Diagnostic } from '../errors.js';
import { applyAppends, mergeLayers, type VarTable } from './merge.js';
import type { VarsKind } from './schemas/kind.js';
import { resolveTemplates } from './templates.js';
import { type Validated, validateTable } from './validate.js';
import { builtinSource, type Source } from './yaml-source.js';

export interface LoadedTable extends Validated {
  table: VarTable;
}

/** Reserved names ending in `_append` that are variables of their own, not appends. */
const RESERVED = new Set(['grub_cmdline_linux_default_append']);

export function loadTable(
  defaults: Readonly<Record<string, unknown>>,
  sources: readonly Source[],
  kind: VarsKind,
): LoadedTable {
  const diagnostics: Diagnostic[] = sources.flatMap((s) => s.problems);
  const table = mergeLayers([builtinSource({ ...defaults }), ...sources]);
  diagnostics.push(...applyAppends(table, kind.lists, RESERVED));
  const templates = resolveTemplates(table);
  diagnostics.push(...templates.diagnostics);
  const v = validateTable(table, kind, templates.referenced);
  // A value whose template was refused is still the template text: its schema finding would repeat the point.
  const at = (d: Diagnostic) => `${d.file}:${d.position?.line}:${d.position?.column}`;
  const templated = new Set(templates.diagnostics.filter((d) => d.position).map(at));
  const rest = v.diagnostics.filter((d) => !templated.has(at(d)));
  return { table, values: v.values, extra: v.extra, diagnostics: [...diagnostics, ...rest] };
}
