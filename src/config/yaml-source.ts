/**
 * YAML files read with their positions kept, so every finding can name line:column.
 * Parsed as YAML 1.1, as Ansible (PyYAML) reads them: `yes`/`no` are booleans and `0755` is octal.
 */
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Diagnostic, SourcePosition } from '../errors.js';

/** Alias expansion the `yaml` package allows per document (it counts the nodes each alias brings in). */
export const MAX_ALIAS_COUNT = 1000;

export type KeyPath = readonly (string | number)[];

/** Where a walk down a key path stopped. */
export interface Located {
  position?: SourcePosition;
  /** Segments of the path that could not be followed (the node there is a scalar or missing). */
  rest: KeyPath;
  /** The string value of the node the walk stopped on, when it is a string scalar. */
  scalar?: string;
}

export interface Source {
  /** Path of the file as shown to the user. */
  file: string;
  /** Top-level variables; empty for a file holding only comments. */
  vars: Record<string, unknown>;
  /** Syntax errors and structural problems (top level not a mapping). */
  problems: Diagnostic[];
  /** Set on files of the bundled defaults: a variable there that nothing uses is not the user's mistake. */
  bundled?: boolean;
  /** Position of the value (or, with `atKey`, of the key) at `path`. */
  locate(path: KeyPath, atKey?: boolean): Located;
}

/**
 * The document as plain values, or the finding when aliases expand too far: an alias or merge-key bomb is
 * refused before it is expanded.
 */
export function expandDocument(doc: Document): { js: unknown } | { problem: string } {
  try {
    return { js: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    return { problem: `YAML aliases expand too far (${(err as Error).message.toLowerCase()})` };
  }
}

/** Formats a key path the way users write it: `partitions[1].part_end`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function positionAt(lc: LineCounter, offset: number): SourcePosition {
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

/** Parses one YAML vars file. Never throws: problems are returned as diagnostics. */
export function parseYamlSource(text: string, file: string): Source {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.1',
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
  });
  const problems: Diagnostic[] = [];
  // Later syntax errors are mostly consequences of the first; one precise finding reads better.
  for (const e of doc.errors.slice(0, 1)) {
    problems.push({
      severity: 'error',
      file,
      key: '',
      position: positionAt(lineCounter, e.pos[0]),
      message: `invalid YAML: ${e.message.split('\n')[0]}`,
    });
  }
  let vars: Record<string, unknown> = {};
  if (problems.length === 0 && doc.contents !== null) {
    if (!isMap(doc.contents)) {
      const range = (doc.contents as Node).range;
      problems.push({
        severity: 'error',
        file,
        key: '',
        position: range ? positionAt(lineCounter, range[0]) : undefined,
        message: 'expected a mapping of variables (name: value) at the top level',
      });
    } else {
      const expanded = expandDocument(doc);
      if ('problem' in expanded) {
        problems.push({
          severity: 'error',
          file,
          key: '',
          position: { line: 1, column: 1 },
          message: `${expanded.problem}; write the values out`,
        });
      }
      const js = 'js' in expanded ? expanded.js : {};
      vars = (js ?? {}) as Record<string, unknown>;
      for (const pair of doc.contents.items) {
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (typeof k !== 'string') {
          const range = (pair.key as Node | null)?.range;
          problems.push({
            severity: 'error',
            file,
            key: '',
            position: range ? positionAt(lineCounter, range[0]) : undefined,
            message: `variable names must be strings, got ${JSON.stringify(k)}`,
          });
        }
      }
    }
  }

  const locate = (path: KeyPath, atKey = false): Located => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    let i = 0;
    for (; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        keyNode = undefined;
        node = node.items[seg];
      } else {
        break;
      }
    }
    const rest = path.slice(i);
    const target = atKey && rest.length === 0 && keyNode ? keyNode : node;
    const range = (target as Node | null | undefined)?.range;
    const out: Located = { rest };
    if (range) out.position = positionAt(lineCounter, range[0]);
    if (isScalar(node) && typeof node.value === 'string') out.scalar = node.value;
    return out;
  };
  return { file, vars, problems, locate };
}

/** A source with no file behind it: the built-in role defaults. */
export function builtinSource(vars: Record<string, unknown>): Source {
  return { file: '(built-in default)', vars, problems: [], locate: (path) => ({ rest: path }) };
}
