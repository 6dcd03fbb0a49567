/**
 * Loads the configuration: bundled defaults < the user's manifests folder < the profile overlay, each file
 * set merged, templated and validated; every problem of every file is collected before failing.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../api/config.js';
import { ConfigError, type Diagnostic, formatDiagnostic } from '../errors.js';
import { suggestion } from './did-you-mean.js';
import { DISTROS, distroOverlayDir } from './distro.js';
import { exists, isDir, readVarsFile } from './files.js';
import { loadIso } from './iso.js';
import { buildLivecd } from './livecd.js';
import { type AptSource, readHostAptSources } from './mirror.js';
import { buildMultistrap } from './multistrap.js';
import { buildOsconfig } from './osconfig.js';
import { bundledProfile, bundledProfileNames } from './profiles.js';
import { buildQcow } from './qcow.js';
import { LIVECD_DEFAULTS, MULTISTRAP_DEFAULTS, OSCONFIG_DEFAULTS, QCOW_DEFAULTS } from './role-defaults.js';
import { livecdKind } from './schemas/livecd.js';
import { multistrapKind } from './schemas/multistrap.js';
import { osconfigKind } from './schemas/osconfig.js';
import { qcowKind } from './schemas/qcow.js';
import { imageReference, type Settings } from './settings.js';
import { loadTable } from './table.js';
import type { BuildConfig, OsconfigVars, QcowBundle } from './types.js';
import { loadScriptFolders } from './user-scripts.js';
import type { Source } from './yaml-source.js';

export interface LoadOptions {
  /** Root below which the host's apt sources are read (`/`); tests point it at a fixture. */
  aptRoot?: string;
  /** The bundled defaults folder; found beside the package when absent. */
  bundledDir?: string;
}

/**
 * `defaults/manifests/` of this package, found by walking up from this module (works from src/ and dist/).
 * @throws Error when the package was installed without its defaults folder.
 */
export function bundledManifestsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'defaults', 'manifests');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('bundled defaults (defaults/manifests) not found beside the package');
}

const SAFE_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;

async function subdirs(dir: string): Promise<string[] | undefined> {
  if (!(await isDir(dir))) return undefined;
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(dir, e.name))))) out.push(e.name);
  }
  return out.sort();
}

/** A path as the user would write it: relative to the current folder when inside it. */
function shown(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

function problem(file: string, key: string, message: string): Diagnostic {
  return { severity: 'error', file, key, message };
}

/**
 * The manifests folders in layer order, and findings about locating them. The first `ours` of them are the
 * bundled defaults (the bundled folder, then the DISTRO's set).
 */
async function locateRoots(
  settings: Settings,
  bundled: string,
): Promise<{ roots: string[]; ours: number; user: string | null; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const roots = [bundled];
  if (!DISTROS[settings.distro]) {
    const known = Object.keys(DISTROS);
    diagnostics.push(
      problem(
        '(--distro, environment variable DISTRO)',
        'DISTRO',
        `"${settings.distro}" is not a distribution with a defaults set${suggestion(settings.distro, known)}; known: ${known.join(', ')}`,
      ),
    );
  }
  const overlay = distroOverlayDir(bundled, settings.distro);
  if (overlay) roots.push(overlay);
  const ours = roots.length;
  let user: string | null = null;
  if (settings.workdir) {
    if (!(await isDir(settings.workdir))) {
      diagnostics.push(
        problem(settings.workdir, 'WORKDIR', 'the manifests folder does not exist (or is not a folder)'),
      );
    } else {
      user = settings.workdir;
      roots.push(user);
    }
  }
  if (settings.profile) {
    // Beside the manifests folder, whatever way its path was written (`.`, `manifests/`, absolute).
    const profilesDir = shown(join(dirname(resolve(user ?? bundled)), 'profiles'));
    if (!SAFE_NAME.test(settings.profile)) {
      diagnostics.push(
        problem(
          profilesDir,
          'PROFILE',
          `"${settings.profile}" is not a profile name (letters, digits, ".", "_", "-")`,
        ),
      );
    } else {
      const overlay = join(profilesDir, settings.profile, 'manifests');
      // The user's profile of that name first, then the tool's own (profiles.ts).
      const found =
        (user && (await isDir(overlay)) ? overlay : undefined) ??
        (await bundledProfile(bundled, settings.distro, settings.profile));
      if (found) roots.push(found);
      else {
        // The user's own names first: the did-you-mean prefers them.
        const mine = (user && (await subdirs(profilesDir))) || [];
        const available = [...new Set([...mine, ...(await bundledProfileNames(bundled))])];
        diagnostics.push(
          problem(
            overlay,
            'PROFILE',
            `profile "${settings.profile}" not found${suggestion(settings.profile, available)}; available: ${available.join(', ') || '(none)'}`,
          ),
        );
      }
    }
  }
  return { roots, ours, user, diagnostics };
}

/** Reads `rel` from every root that has it, in layer order. */
async function layers(roots: readonly string[], rel: string, ours = 1): Promise<Source[]> {
  const out: Source[] = [];
  for (const [i, root] of roots.entries()) {
    const p = join(root, rel);
    // Whatever is there is read (a FIFO or a dangling symlink is a finding, never a reason to use defaults).
    if (await exists(p)) out.push({ ...(await readVarsFile(p, root)), bundled: i < ours });
  }
  return out;
}

async function loadBundles(
  settings: Settings,
  roots: readonly string[],
  ours: number,
  rootfsOsconfig: readonly Source[],
): Promise<{ bundles: QcowBundle[]; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const bundle = settings.qcowBundle;
  const bundled = roots[0]!;
  if (!SAFE_NAME.test(bundle)) {
    return { bundles: [], diagnostics: [problem(bundle, 'QCOW_BUNDLE', `"${bundle}" is not a folder name`)] };
  }
  const userRoots = roots.slice(ours);
  const names = new Set<string>();
  for (const r of userRoots) for (const n of (await subdirs(join(r, bundle))) ?? []) names.add(n);
  if (names.size === 0) {
    const fromBundled = await subdirs(join(bundled, bundle));
    if (fromBundled) for (const n of fromBundled) names.add(n);
    else {
      const where = join(roots[roots.length - 1]!, bundle);
      return {
        bundles: [],
        diagnostics: [
          problem(
            where,
            'QCOW_BUNDLE',
            `qcow bundle folder ${bundle} not found (nor in the bundled defaults)`,
          ),
        ],
      };
    }
  }
  let selected = [...names].sort();
  if (settings.qcowBundleDirs.length > 0) {
    for (const d of settings.qcowBundleDirs) {
      if (!names.has(d)) {
        diagnostics.push(
          problem(
            join(roots[roots.length - 1]!, bundle, d),
            'QCOW_BUNDLE_DIRS',
            `no bundle folder "${d}" in ${bundle}${suggestion(d, names)}; found: ${selected.join(', ')}`,
          ),
        );
      }
    }
    selected = settings.qcowBundleDirs.filter((d) => names.has(d));
  }
  const bundles: QcowBundle[] = [];
  for (const name of selected) {
    const rel = join(bundle, name);
    const osTable = loadTable(
      OSCONFIG_DEFAULTS,
      [...rootfsOsconfig, ...(await layers(roots, join(rel, 'osconfig-vars.yaml'), ours))],
      osconfigKind,
    );
    const qcowTable = loadTable(
      QCOW_DEFAULTS,
      await layers(roots, join(rel, 'qcow-vars.yaml'), ours),
      qcowKind,
    );
    const qcow = buildQcow(qcowTable, name);
    diagnostics.push(...osTable.diagnostics, ...qcowTable.diagnostics, ...qcow.diagnostics);
    let dir = join(bundled, rel);
    for (const r of roots) if (await isDir(join(r, rel))) dir = join(r, rel);
    bundles.push({ name, dir, osconfig: buildOsconfig(osTable), qcow: qcow.vars });
  }
  return { bundles, diagnostics };
}

function dedupe(diags: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = formatDiagnostic(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Loads and validates the configuration named by `settings` (`workdir`, `profile`, `qcowBundle`,
 * `qcowBundleDirs`) over the bundled defaults.
 * @throws ConfigError with every error found (file, key path, line:column, what was expected).
 */
export async function loadConfig(settings: Settings, options: LoadOptions = {}): Promise<LoadedConfig> {
  const bundled = options.bundledDir ?? bundledManifestsDir();
  const host: AptSource[] = await readHostAptSources(options.aptRoot ?? '/');
  const { roots, ours, user, diagnostics } = await locateRoots(settings, bundled);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);

  const msTable = loadTable(
    MULTISTRAP_DEFAULTS,
    await layers(roots, 'rootfs/multistrap-vars.yaml', ours),
    multistrapKind,
  );
  const multistrap = buildMultistrap(msTable, host);
  const rootfsOsconfig = await layers(roots, 'rootfs/osconfig-vars.yaml', ours);
  const osTable = loadTable(OSCONFIG_DEFAULTS, rootfsOsconfig, osconfigKind);
  const lcTable = loadTable(
    LIVECD_DEFAULTS,
    await layers(roots, 'rootfs/livecdcontent-vars.yaml', ours),
    livecdKind,
  );
  const livecd = buildLivecd(lcTable);
  const iso = await loadIso(roots);
  const bundles = await loadBundles(settings, roots, ours, rootfsOsconfig);
  const scripts = await loadScriptFolders(roots.slice(ours));
  const withScripts = (
    os: OsconfigVars,
    runtime: readonly { file_content: string }[] = [],
  ): OsconfigVars => ({
    ...os,
    user_scripts: [
      ...os.user_scripts,
      ...scripts.scripts,
      // The original ran a bundle's qcow_container_runtime_scripts in the QCOW after its osconfig pass.
      ...runtime.map((r) => ({ file_content: r.file_content, run_contexts: ['qcow' as const] })),
    ],
  });

  const all = dedupe([
    ...msTable.diagnostics,
    ...multistrap.diagnostics,
    ...osTable.diagnostics,
    ...lcTable.diagnostics,
    ...livecd.diagnostics,
    ...iso.diagnostics,
    ...bundles.diagnostics,
    ...scripts.diagnostics,
  ]);
  const errors = all.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new ConfigError(errors);
  const config: BuildConfig = {
    settings,
    imageRef: imageReference(settings),
    manifestsDir: user,
    multistrap: multistrap.vars,
    osconfig: withScripts(buildOsconfig(osTable)),
    livecdcontent: livecd.vars,
    iso: iso.vars,
    qcowBundles: bundles.bundles.map((b) => ({
      ...b,
      osconfig: withScripts(b.osconfig, b.qcow.qcow_container_runtime_scripts),
    })),
  };
  return { config, warnings: all.filter((d) => d.severity === 'warning') };
}
