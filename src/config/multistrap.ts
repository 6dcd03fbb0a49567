/** The multistrap file set to {@link MultistrapVars}: host-mirror repos resolved, unreachable repos noted. */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, type Where, where } from './merge.js';
import { type AptSource, hostOf, hostSourceFor } from './mirror.js';
import { omit } from './schemas/kind.js';
import { type multistrapKind, TEMPLATE_ONLY } from './schemas/multistrap.js';
import type { LoadedTable } from './table.js';
import type { MultistrapVars, Repo } from './types.js';

/** Value of `source` meaning "the machine's own apt mirror for this suite". */
export const HOST_SOURCE = 'host';

function looksUbuntu(r: Repo): boolean {
  return /ubuntu/i.test(r.source) || r.keyring_pkg === 'ubuntu-keyring' || /^ubuntu/i.test(r.name);
}

/** Where a host keeps apt keyrings: the only host folders an absolute `keyring_file` may name. */
export const HOST_KEYRING_DIRS = [
  '/usr/share/keyrings',
  '/usr/local/share/keyrings',
  '/etc/apt/keyrings',
  '/etc/apt/trusted.gpg.d',
];

function below(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * Why a keyring file (copied into the image) may not be used: it must be a regular file, either inside the
 * manifests folder or in one of the host's keyring folders, so a manifest cannot carry a host secret
 * (`/etc/shadow`, an SSH key) into the image.
 */
function keyringProblem(abs: string, manifests: string | undefined): string | undefined {
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return `keyring file ${abs} cannot be resolved`;
  }
  const roots = [...HOST_KEYRING_DIRS, ...(manifests ? [manifests] : [])].map((d) => {
    try {
      return realpathSync(d);
    } catch {
      return d;
    }
  });
  if (!roots.some((r) => below(r, real))) {
    return `keyring file ${abs}${real !== abs ? ` (${real})` : ''} must lie inside the manifests folder or in ${HOST_KEYRING_DIRS.join(', ')}; it is copied into the image`;
  }
  const st = statSync(real);
  if (!st.isFile()) return `keyring file ${abs} is not a regular file`;
  if (st.size > 2 ** 20)
    return `keyring file ${abs} is ${st.size} bytes, larger than any keyring (1 MiB at most)`;
  return undefined;
}

/** Key fields that cannot all take effect together: each one given must be the one the build uses. */
function keyFieldsProblem(r: Repo): { field: string; message: string } | undefined {
  if (r.keyring_url && r.keyring_file)
    return {
      field: 'keyring_url',
      message: `repo ${r.name} gives both keyring_url and keyring_file; give one (the key the repo is verified with)`,
    };
  if (r.keyring_fingerprint && !r.keyring_url)
    return {
      field: 'keyring_fingerprint',
      message: `repo ${r.name}: keyring_fingerprint pins the key downloaded from keyring_url, and there is no keyring_url`,
    };
  return undefined;
}

/** Where a repo's `keyring_file` is (relative to the manifests folder) and, when it may not be used, why. */
function keyringFile(given: string, at: Where): { abs: string; problem?: string } {
  const file = at.file;
  const base = file.startsWith('(') ? process.cwd() : dirname(dirname(file));
  const abs = isAbsolute(given) ? given : resolve(base, given);
  if (!existsSync(abs)) return { abs, problem: `keyring file ${abs} does not exist` };
  const problem = keyringProblem(abs, file.startsWith('(') ? undefined : base);
  return problem ? { abs, problem } : { abs };
}

/** A `source: host` repo pointed at this machine's mirror for its suite; undefined when it has none. */
function hostRepo(
  repo: Repo,
  host: readonly AptSource[],
  at: Where,
  diagnostics: Diagnostic[],
): Repo | undefined {
  const h = hostSourceFor(repo.suite, host);
  if (h) {
    const signedBy = !repo.keyring_file && !repo.keyring_url && h.signedBy;
    return { ...repo, source: h.uri, ...(signedBy ? { keyring_file: signedBy } : {}) };
  }
  const why = host.length
    ? `this machine's apt sources have no entry for suite ${repo.suite}`
    : 'this machine has no apt sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list)';
  if (repo.packages.length > 0) {
    diagnostics.push(diagnosticAt(at, `source: host, but ${why}; write the mirror's URL as the source`));
  } else {
    diagnostics.push(diagnosticAt(at, `repo ${repo.name} skipped: ${why}`, 'warning'));
  }
  return undefined;
}

/** One repo as the build uses it: key file resolved and checked, `host` replaced; undefined when skipped. */
function resolveRepo(
  r: Repo,
  at: (field?: string) => Where,
  host: readonly AptSource[],
  out: { diagnostics: Diagnostic[]; hints: string[] },
): Repo | undefined {
  const { keyring_file, ...repo }: Repo = r;
  const keyProblem = keyFieldsProblem(r);
  if (keyProblem) out.diagnostics.push(diagnosticAt(at(keyProblem.field), keyProblem.message));
  let resolved: Repo = repo;
  if (keyring_file) {
    const k = keyringFile(keyring_file, at('keyring_file'));
    if (k.problem) out.diagnostics.push(diagnosticAt(at('keyring_file'), k.problem));
    resolved = { ...repo, keyring_file: k.abs };
  }
  if (r.source === HOST_SOURCE) return hostRepo(resolved, host, at('source'), out.diagnostics);
  const hostHosts = new Set(host.map((s) => hostOf(s.uri)).filter((h): h is string => h !== undefined));
  if (!hostHosts.has(hostOf(r.source) ?? r.source)) {
    const hint = looksUbuntu(r)
      ? `repo ${r.name} (${r.source}, ${r.suite}) needs an Ubuntu mirror; this machine reaches only its own apt sources`
      : `repo ${r.name} (${r.source}, ${r.suite}) is not one of this machine's apt sources; it must be reachable when building`;
    out.hints.push(hint);
    out.diagnostics.push(diagnosticAt(at('source'), hint, 'warning'));
  }
  return resolved;
}

export function buildMultistrap(
  t: LoadedTable<typeof multistrapKind>,
  host: readonly AptSource[],
): { vars: MultistrapVars; diagnostics: Diagnostic[] } {
  const out: { diagnostics: Diagnostic[]; hints: string[] } = { diagnostics: [], hints: [] };
  const repos: Repo[] = [];
  const seen = new Set<string>();
  t.vars.repos.forEach((r, i) => {
    const at = (field?: string) => where(t.table, 'repos', field ? [i, field] : [i]);
    if (seen.has(r.name))
      out.diagnostics.push(diagnosticAt(at('name'), `a repo named "${r.name}" is listed twice`));
    seen.add(r.name);
    const repo = resolveRepo(r, at, host, out);
    if (repo) repos.push(repo);
  });
  // A list that failed its schema is reported already; `repos` then holds the default (none).
  const reposValid = t.values.repos !== undefined && !out.diagnostics.some((d) => d.severity === 'error');
  if (reposValid && t.vars.repos.length > 0 && repos.every((r) => r.packages.length === 0)) {
    out.diagnostics.push(diagnosticAt(where(t.table, 'repos', []), 'no repo installs any package'));
  }
  if (reposValid && t.vars.repos.length === 0) {
    out.diagnostics.push(diagnosticAt(where(t.table, 'repos', []), 'at least one repo is needed'));
  }
  const { kept, dropped } = omit(t.vars, TEMPLATE_ONLY);
  return {
    vars: { ...kept, repos, unreachable_hints: out.hints, extra: { ...t.extra, ...dropped } },
    diagnostics: out.diagnostics,
  };
}
