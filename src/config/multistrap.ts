/** The multistrap file set to {@link MultistrapVars}: host-mirror repos resolved, unreachable repos noted. */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, where } from './merge.js';
import { type AptSource, hostOf, hostSourceFor } from './mirror.js';
import type { RepoInput } from './schemas/multistrap.js';
import type { LoadedTable } from './table.js';
import type { MultistrapVars, Repo } from './types.js';

/** Value of `source` meaning "the machine's own apt mirror for this suite". */
export const HOST_SOURCE = 'host';

const TYPED = new Set([
  'rootfs_arch',
  'repos',
  'unapproved_packages',
  'systemd_nic_names_policy',
  'systemd_nic_alternative_names_policy',
  'multistrap_retries',
  'multistrap_retries_delay',
]);

function looksUbuntu(r: RepoInput): boolean {
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
function keyFieldsProblem(r: RepoInput): { field: string; message: string } | undefined {
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

export function buildMultistrap(
  t: LoadedTable,
  host: readonly AptSource[],
): { vars: MultistrapVars; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const v = t.values;
  const repos: Repo[] = [];
  const hints: string[] = [];
  const hostHosts = new Set(host.map((s) => hostOf(s.uri)).filter((h): h is string => h !== undefined));
  const seen = new Set<string>();
  const inputs = (v.repos ?? []) as RepoInput[];
  inputs.forEach((r, i) => {
    const at = (field?: string) => where(t.table, 'repos', field ? [i, field] : [i]);
    if (seen.has(r.name))
      diagnostics.push(diagnosticAt(at('name'), `a repo named "${r.name}" is listed twice`));
    seen.add(r.name);
    const repo: Repo = {
      name: r.name,
      source: r.source,
      suite: r.suite,
      components: r.components,
      packages: r.packages,
      register_repo_with_rootfs: r.register_repo_with_rootfs,
      omitdebsrc: r.omitdebsrc,
    };
    if (r.keyring_pkg) repo.keyring_pkg = r.keyring_pkg;
    if (r.keyring_url) repo.keyring_url = r.keyring_url;
    if (r.keyring_fingerprint) repo.keyring_fingerprint = r.keyring_fingerprint;
    const keyProblem = keyFieldsProblem(r);
    if (keyProblem) diagnostics.push(diagnosticAt(at(keyProblem.field), keyProblem.message));
    if (r.keyring_file) {
      const file = at('keyring_file').file;
      const base = file.startsWith('(') ? process.cwd() : dirname(dirname(file));
      const abs = isAbsolute(r.keyring_file) ? r.keyring_file : resolve(base, r.keyring_file);
      if (!existsSync(abs)) {
        diagnostics.push(diagnosticAt(at('keyring_file'), `keyring file ${abs} does not exist`));
      } else {
        const why = keyringProblem(abs, file.startsWith('(') ? undefined : base);
        if (why) diagnostics.push(diagnosticAt(at('keyring_file'), why));
      }
      repo.keyring_file = abs;
    }
    if (r.source === HOST_SOURCE) {
      const h = hostSourceFor(r.suite, host);
      if (!h) {
        const why = host.length
          ? `this machine's apt sources have no entry for suite ${r.suite}`
          : 'this machine has no apt sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list)';
        if (r.packages.length > 0) {
          diagnostics.push(
            diagnosticAt(at('source'), `source: host, but ${why}; write the mirror's URL as the source`),
          );
        } else {
          diagnostics.push(diagnosticAt(at('source'), `repo ${r.name} skipped: ${why}`, 'warning'));
        }
        return;
      }
      repo.source = h.uri;
      if (!repo.keyring_file && !repo.keyring_url && h.signedBy) repo.keyring_file = h.signedBy;
    } else if (!hostHosts.has(hostOf(r.source) ?? r.source)) {
      const hint = looksUbuntu(r)
        ? `repo ${r.name} (${r.source}, ${r.suite}) needs an Ubuntu mirror; this machine reaches only its own apt sources`
        : `repo ${r.name} (${r.source}, ${r.suite}) is not one of this machine's apt sources; it must be reachable when building`;
      hints.push(hint);
      diagnostics.push(diagnosticAt(at('source'), hint, 'warning'));
    }
    repos.push(repo);
  });
  const reposValid = v.repos !== undefined && !diagnostics.some((d) => d.severity === 'error');
  if (reposValid && inputs.length > 0 && repos.every((r) => r.packages.length === 0)) {
    diagnostics.push(diagnosticAt(where(t.table, 'repos', []), 'no repo installs any package'));
  }
  if (reposValid && inputs.length === 0) {
    diagnostics.push(diagnosticAt(where(t.table, 'repos', []), 'at least one repo is needed'));
  }
  const extra: Record<string, unknown> = { ...t.extra };
  for (const [k, val] of Object.entries(v)) if (!TYPED.has(k)) extra[k] = val;
  return {
    vars: {
      rootfs_arch: v.rootfs_arch as string,
      repos,
      unapproved_packages: v.unapproved_packages as string[],
      systemd_nic_names_policy: v.systemd_nic_names_policy as string,
      systemd_nic_alternative_names_policy: v.systemd_nic_alternative_names_policy as string,
      multistrap_retries: v.multistrap_retries as number,
      multistrap_retries_delay: v.multistrap_retries_delay as number,
      unreachable_hints: hints,
      extra,
    },
    diagnostics,
  };
}
