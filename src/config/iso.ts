/**
 * `iso/`: the ephemeral node's config-drive. Each of the three files is taken whole from the last folder that
 * has it (profile overlay, then the user's folder, then the bundled defaults): they are data, not variables.
 */
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { Diagnostic } from '../errors.js';
import { exists, parseJsonFile, positionOfOffset, readManifestFile } from './files.js';
import { ISO_IMAGE_NAME } from './role-defaults.js';
import { firstControl } from './schemas/common.js';
import type { IsoVars } from './types.js';
import { expandDocument } from './yaml-source.js';

interface Picked {
  path: string;
  root: string;
}

/** The file of the last root that has anything at `iso/<name>` (a FIFO or a dangling link counts: it is refused). */
async function pick(roots: readonly string[], name: string): Promise<Picked | undefined> {
  for (const root of [...roots].reverse()) {
    const p = join(root, 'iso', name);
    if (await exists(p)) return { path: p, root };
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
  let js: unknown = null;
  if (out.length === 0) {
    const expanded = expandDocument(doc);
    if ('js' in expanded) js = expanded.js;
    else
      out.push({
        severity: 'error',
        file,
        key: '',
        position: { line: 1, column: 1 },
        message: expanded.problem,
      });
  }
  if (js !== null && (typeof js !== 'object' || Array.isArray(js))) {
    out.push({ severity: 'error', file, key: '', message: 'cloud-config must be a mapping of keys' });
  }
  return out;
}

/** A host name as RFC 1123 allows it: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The config-drive's names: cloud-init writes `hostname` to /etc/hostname and /etc/hosts as it is. */
function checkMeta(meta: Record<string, unknown>, file: string, text: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (k: string) => {
    const i = text.indexOf(`"${k}"`);
    return i < 0 ? undefined : positionOfOffset(text, i);
  };
  const add = (k: string, message: string) => {
    const position = at(k);
    out.push({ severity: 'error', file, key: k, ...(position ? { position } : {}), message });
  };
  for (const k of ['hostname', 'name', 'uuid'] as const) {
    if (!(k in meta)) continue;
    const v = meta[k];
    if (typeof v !== 'string') add(k, `expected ${k} to be a string`);
    else if (k === 'hostname' && !HOSTNAME.test(v)) {
      add(
        k,
        `${JSON.stringify(v.slice(0, 80))} is not a host name (letters, digits and "-" in dot-separated labels of at most 63, no "-" at either end)`,
      );
    } else if (k === 'uuid' && !UUID.test(v)) add(k, `${JSON.stringify(v.slice(0, 80))} is not a UUID`);
    else if (k === 'name' && firstControl(v) !== undefined) add(k, 'name holds a control character');
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
  const userDataPicked = await pick(roots, 'user_data');
  const networkPicked = await pick(roots, 'network_data.json');
  const metaPicked = await pick(roots, 'meta_data.json');
  const userDataPath = userDataPicked?.path;
  const networkPath = networkPicked?.path;
  const metaPath = metaPicked?.path;
  const text = async (picked: Picked): Promise<string | undefined> => {
    const r = await readManifestFile(picked.path, picked.root);
    if ('problem' in r) {
      diagnostics.push(r.problem);
      return undefined;
    }
    return r.text;
  };
  let userData = '';
  if (userDataPicked) {
    const t = await text(userDataPicked);
    if (t !== undefined) {
      userData = t;
      diagnostics.push(...checkUserData(userData, userDataPicked.path));
    }
  } else diagnostics.push(missing('user_data'));

  let metaText = '';
  const json = async (picked: Picked | undefined, name: string): Promise<Record<string, unknown>> => {
    if (!picked) {
      diagnostics.push(missing(name));
      return {};
    }
    const p = picked.path;
    const t = await text(picked);
    if (t === undefined) return {};
    if (name === 'meta_data.json') metaText = t;
    const r = parseJsonFile(t, p);
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
  const network = await json(networkPicked, 'network_data.json');
  const meta = await json(metaPicked, 'meta_data.json');
  if (metaPath) diagnostics.push(...checkMeta(meta, metaPath, metaText));
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
