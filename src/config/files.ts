/** Reading the manifests folder: vars files (following one-line references), JSON and plain text. */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Diagnostic, SourcePosition } from '../errors.js';
import { jsonErrorOffset } from './json-position.js';
import { parseYamlSource, type Source } from './yaml-source.js';

export async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** A file whose whole content is one relative path, as the original's bundles use to share a qcow-vars.yaml. */
const REFERENCE = /^\.{0,2}[\w.-]*(?:\/[\w.-]+)+$|^[\w.-]+\.ya?ml$/;

/**
 * Reads a vars file. A file holding only a path to a sibling file (`../control-plane/qcow-vars.yaml`) is read
 * as that file; a symlink is followed by the file system. Syntax problems and a missing target are returned as
 * diagnostics of the source.
 * @throws the file system's error when the file cannot be read (e.g. no permission).
 */
export async function readVarsFile(path: string): Promise<Source> {
  let current = path;
  for (let hop = 0; hop < 5; hop++) {
    const text = await readFile(current, 'utf8');
    const trimmed = text.trim();
    if (!trimmed.includes('\n') && REFERENCE.test(trimmed)) {
      const target = join(dirname(current), trimmed);
      if (!(await isFile(target))) {
        return {
          file: current,
          vars: {},
          problems: [
            {
              severity: 'error',
              file: current,
              key: '',
              position: { line: 1, column: 1 },
              message: `refers to ${trimmed} (${resolve(target)}), which does not exist`,
            },
          ],
          locate: (p) => ({ rest: p }),
        };
      }
      current = target;
      continue;
    }
    return parseYamlSource(text, current);
  }
  return {
    file: path,
    vars: {},
    problems: [
      { severity: 'error', file: path, key: '', message: 'too many file references in a row (a loop?)' },
    ],
    locate: (p) => ({ rest: p }),
  };
}

/** Line and column of a character offset. */
export function positionOfOffset(text: string, offset: number): SourcePosition {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** Parses JSON; a syntax error becomes a diagnostic with line:column. */
export function parseJsonFile(text: string, file: string): { value?: unknown; problem?: Diagnostic } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    const msg = (err as Error).message;
    const found = jsonErrorOffset(text);
    const at = /at position (\d+)/.exec(msg);
    const offset = found >= 0 ? found : at ? Number(at[1]) : text.length;
    return {
      problem: {
        severity: 'error',
        file,
        key: '',
        position: positionOfOffset(text, offset),
        message: `invalid JSON: ${offset >= text.length ? 'the text ends too early' : `unexpected ${JSON.stringify(text[offset])}`}`,
      },
    };
  }
}
