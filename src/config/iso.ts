/**
 * `iso/`: the ephemeral node's config-drive. Each of the three files is taken whole from the last folder that
 * has it (profile overlay, then the user's folder, then the bundled defaults): they are data, not variables.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { Diagnostic } from '../errors.js';
import { isFile, parseJsonFile, positionOfOffset } from './files.js';
import { ISO_IMAGE_NAME } from './role-defaults.js';
import type { IsoVars } from './types.js';

async function pick(roots: readonly string[], name: string): Promise<string | undefined> {
  for (const root of [...roots].reverse()) {
    const p = join(root, 'iso', name);
    if (await isFile(p)) return p;
  }
  return undefined;
}

function checkUserData(text: string, file: string): Diagnostic[] {
  const first = text.split('\n', 1)[0]!.trim();
  if (first.startsWith('#!')) return [];
  if (first !== '#cloud-config') {
    return [
      {
        severity: 'error',
        file,
        key: '',
        position: { line: 1, column: 1 },
        message:
          'user_data must start with "#cloud-config" (or "#!" for a script); cloud-init ignores it otherwise',
      },
    ];
  }
  // cloud-init reads it with PyYAML, which lets a later duplicate key win; so do we.
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false, prettyErrors: false });
  const out: Diagnostic[] = doc.errors.slice(0, 1).map((e) => ({
    severity: 'error',
    file,
    key: '',
    position: positionOfOffset(text, e.pos[0]),
    message: `invalid cloud-config YAML: ${e.message.split('\n')[0]}`,
  }));
  const js: unknown = out.length === 0 ? doc.toJS() : null;
  if (js !== null && (typeof js !== 'object' || Array.isArray(js))) {
    out.push({ severity: 'error', file, key: '', message: 'cloud-config must be a mapping of keys' });
  }
  return out;
}

export async function loadIso(
  roots: readonly string[],
): Promise<{ vars: IsoVars; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const missing = (name: string): Diagnostic => ({
    severity: 'error',
    file: join(roots[roots.length - 1] ?? '.', 'iso', name),
    key: '',
    message: `iso/${name} is missing from every manifests folder`,
  });
  const userDataPath = await pick(roots, 'user_data');
  const networkPath = await pick(roots, 'network_data.json');
  const metaPath = await pick(roots, 'meta_data.json');
  let userData = '';
  if (userDataPath) {
    userData = await readFile(userDataPath, 'utf8');
    diagnostics.push(...checkUserData(userData, userDataPath));
  } else diagnostics.push(missing('user_data'));

  const json = async (p: string | undefined, name: string): Promise<Record<string, unknown>> => {
    if (!p) {
      diagnostics.push(missing(name));
      return {};
    }
    const r = parseJsonFile(await readFile(p, 'utf8'), p);
    if (r.problem) {
      diagnostics.push(r.problem);
      return {};
    }
    if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) {
      diagnostics.push({
        severity: 'error',
        file: p,
        key: '',
        position: { line: 1, column: 1 },
        message: `expected a JSON object, got ${Array.isArray(r.value) ? 'a list' : JSON.stringify(r.value)}`,
      });
      return {};
    }
    return r.value as Record<string, unknown>;
  };
  const network = await json(networkPath, 'network_data.json');
  const meta = await json(metaPath, 'meta_data.json');
  for (const k of ['hostname', 'name', 'uuid'] as const) {
    if (k in meta && typeof meta[k] !== 'string' && metaPath) {
      diagnostics.push({
        severity: 'error',
        file: metaPath,
        key: k,
        message: `expected ${k} to be a string`,
      });
    }
  }
  return {
    vars: {
      img_name: ISO_IMAGE_NAME,
      user_data: userData,
      network_data: network,
      meta_data: meta,
      sources: { user_data: userDataPath ?? '', network_data: networkPath ?? '', meta_data: metaPath ?? '' },
    },
    diagnostics,
  };
}
