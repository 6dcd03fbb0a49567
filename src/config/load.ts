/**
 * Loads the configuration: bundled defaults < the user's manifests folder < the profile overlay, each file
 * set merged, templated and validated; every problem of every file is collected before failing.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Diagnostic, formatDiagnostic } from '../errors.js';
import { suggestion } from './did-you-mean.js';
import { DISTROS, distroOverlayDir } from './distro.js';
import { exists, isDir, readVarsFile } from './files.js';
import { loadIso } from './iso.js';
import { buildLivecd } from './livecd.js';
import { locateProfile, resolveBundleFolder } from './locate.js';
import { type AptSource, readHostAptSources } from './mirror.js';
import { buildMultistrap } from './multistrap.js';
import { buildOsconfig } from './osconfig.js';
import { buildQcow } from './qcow.js';
import { livecdKind } from './schemas/livecd.js';
import { multistrapKind } from './schemas/multistrap.js';
import { osconfigKind } from './schemas/osconfig.js';
import { qcowKind } from './schemas/qcow.js';
import { imageReference, type Settings } from './settings.js';
import { loadTable } from './table.js';
import type { BuildConfig, LoadedConfig, OsconfigVars, QcowBundle } from './types.js';
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

async function subdirs(dir: string): Promise<string[] | undefined> {
  if (!(await isDir(dir))) return undefined;
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(dir, e.name))))) out.push(e.name);
  }
  return out.sort();
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
    const profile = await locateProfile(settings.profile, user, bundled, settings.distro);
    diagnostics.push(...profile.diagnostics);
    if (profile.dir) roots.push(profile.dir);
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

/** The bundle folders to cut: QCOW_BUNDLE_DIRS when given, else QCOW_BUNDLE; each checked (see locate.ts). */
async function bundleFolders(
  settings: Settings,
  user: string | null,
): Promise<{ folders: string[]; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const folders: string[] = [];
  const asked: [string, 'QCOW_BUNDLE' | 'QCOW_BUNDLE_DIRS'][] =
    settings.qcowBundleDirs.length > 0
      ? settings.qcowBundleDirs.map((d) => [d, 'QCOW_BUNDLE_DIRS'])
      : [[settings.qcowBundle, 'QCOW_BUNDLE']];
  for (const [raw, key] of asked) {
    const r = await resolveBundleFolder(raw, key, user);
    diagnostics.push(...r.diagnostics);
    if (r.rel && !folders.includes(r.rel)) folders.push(r.rel);
  }
  return { folders, diagnostics };
}

/** The sub-folders (QCOW images) of one bundle folder, from the user's layers or else the bundled defaults. */
async function bundleNames(
  bundle: string,
  roots: readonly string[],
  ours: number,
): Promise<{ names: Set<string>; diagnostic?: Diagnostic }> {
  const names = new Set<string>();
  for (const r of roots.slice(ours)) for (const n of (await subdirs(join(r, bundle))) ?? []) names.add(n);
  if (names.size > 0) return { names };
  const fromBundled = await subdirs(join(roots[0]!, bundle));
  if (fromBundled) return { names: new Set(fromBundled) };
  return {
    names,
    diagnostic: problem(
      join(roots[roots.length - 1]!, bundle),
      'QCOW_BUNDLE',
      `qcow bundle folder ${bundle} not found (nor in the bundled defaults)`,
    ),
  };
}

/**
 * The diagnostic for a bundle folder that does not exist, keyed by the variable that named it. Before the
 * original's meaning was adopted, QCOW_BUNDLE_DIRS selected QCOW images; such a value gets a pointer to
 * QCOW_NAMES.
 */
async function missingFolder(
  d: Diagnostic,
  bundle: string,
  settings: Settings,
  roots: readonly string[],
  ours: number,
): Promise<Diagnostic> {
  if (settings.qcowBundleDirs.length === 0) return d;
  const images = (await bundleNames(settings.qcowBundle, roots, ours)).names;
  const hint = images.has(bundle)
    ? `; "${bundle}" is a QCOW image of ${settings.qcowBundle}: select it with QCOW_NAMES (QCOW_BUNDLE_DIRS lists bundle folders, as in the original)`
    : '';
  return { ...d, key: 'QCOW_BUNDLE_DIRS', message: `${d.message}${hint}` };
}

async function loadBundles(
  settings: Settings,
  user: string | null,
  roots: readonly string[],
  ours: number,
  rootfsOsconfig: readonly Source[],
): Promise<{ bundles: QcowBundle[]; diagnostics: Diagnostic[] }> {
  const { folders, diagnostics } = await bundleFolders(settings, user);
  const bundled = roots[0]!;
  const multi = settings.qcowBundleDirs.length > 0 && folders.length > 1;
  const bundles: QcowBundle[] = [];
  const seen = new Set<string>();
  for (const bundle of folders) {
    const { names, diagnostic } = await bundleNames(bundle, roots, ours);
    if (diagnostic) {
      diagnostics.push(await missingFolder(diagnostic, bundle, settings, roots, ours));
      continue;
    }
    for (const n of names) seen.add(n);
    const wanted = settings.qcowNames;
    const selected = [...names].sort().filter((n) => wanted.length === 0 || wanted.includes(n));
    for (const name of selected) {
      const rel = join(bundle, name);
      const osTable = loadTable(
        [...rootfsOsconfig, ...(await layers(roots, join(rel, 'osconfig-vars.yaml'), ours))],
        osconfigKind,
      );
      const qcowTable = loadTable(await layers(roots, join(rel, 'qcow-vars.yaml'), ours), qcowKind);
      const qcow = buildQcow(qcowTable, name);
      diagnostics.push(...osTable.diagnostics, ...qcowTable.diagnostics, ...qcow.diagnostics);
      let dir = join(bundled, rel);
      for (const r of roots) if (await isDir(join(r, rel))) dir = join(r, rel);
      bundles.push({
        name,
        folder: bundle,
        outSub: multi ? bundle : '',
        dir,
        osconfig: buildOsconfig(osTable),
        qcow: qcow.vars,
      });
    }
  }
  if (folders.length > 0 && diagnostics.length === 0)
    for (const d of settings.qcowNames)
      if (!seen.has(d))
        diagnostics.push(
          problem(
            join(roots[roots.length - 1]!, folders[0]!, d),
            'QCOW_NAMES',
            `no QCOW image folder "${d}" in ${folders.join(', ')}${suggestion(d, seen)}; found: ${[...seen].sort().join(', ')}`,
          ),
        );
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
 * `qcowBundleDirs`, `qcowNames`) over the bundled defaults.
 * @throws ConfigError with every error found (file, key path, line:column, what was expected).
 */
export async function loadConfig(settings: Settings, options: LoadOptions = {}): Promise<LoadedConfig> {
  const bundled = options.bundledDir ?? bundledManifestsDir();
  const host: AptSource[] = await readHostAptSources(options.aptRoot ?? '/');
  const { roots, ours, user, diagnostics } = await locateRoots(settings, bundled);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);

  const msTable = loadTable(await layers(roots, 'rootfs/multistrap-vars.yaml', ours), multistrapKind);
  const multistrap = buildMultistrap(msTable, host);
  const rootfsOsconfig = await layers(roots, 'rootfs/osconfig-vars.yaml', ours);
  const osTable = loadTable(rootfsOsconfig, osconfigKind);
  const lcTable = loadTable(await layers(roots, 'rootfs/livecdcontent-vars.yaml', ours), livecdKind);
  const livecd = buildLivecd(lcTable);
  const iso = await loadIso(roots);
  const bundles = await loadBundles(settings, user, roots, ours, rootfsOsconfig);
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
