import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../../../src/api/config.js';
import { type LoadOptions, loadConfig } from '../../../src/config/load.js';
import { defaultSettings, type Settings } from '../../../src/config/settings.js';
import { ConfigError, type Diagnostic } from '../../../src/errors.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));
export const AIRSHIP = join(FIXTURES, 'airship');
/** A machine whose apt sources are example.org mirrors (deb822 form). */
export const APT_DEB822 = join(FIXTURES, 'apt/deb822');
export const APT_ONELINE = join(FIXTURES, 'apt/oneline');

/** Loads with the deb822 fixture as the host's apt sources, so results do not depend on this machine. */
export function load(settings: Partial<Settings> = {}, options: LoadOptions = {}): Promise<LoadedConfig> {
  return loadConfig({ ...defaultSettings(), ...settings }, { aptRoot: APT_DEB822, ...options });
}

/** The diagnostics of a load that must fail. */
export async function loadErrors(
  settings: Partial<Settings>,
  options: LoadOptions = {},
): Promise<Diagnostic[]> {
  try {
    await load(settings, options);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.diagnostics];
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

/** A scratch manifests folder: `files` maps paths inside it to their content. */
export async function scratch(
  files: Record<string, string>,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'ib-config-'));
  const dir = join(root, 'manifests');
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel.startsWith('../') ? rel.slice(3) : join('manifests', rel));
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, content);
  }
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/**
 * The original's manifests with its role defaults copied in as the user's files, the way a user carrying the
 * original's full variable set would have them; profiles beside it.
 */
export async function airshipWithRoleDefaults(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'ib-config-'));
  const dir = join(root, 'manifests');
  await cp(join(AIRSHIP, 'manifests'), dir, { recursive: true });
  await cp(join(AIRSHIP, 'profiles'), join(root, 'profiles'), { recursive: true });
  const { chmod, copyFile, readdir, stat } = await import('node:fs/promises');
  const writable = async (p: string): Promise<void> => {
    const s = await stat(p);
    await chmod(p, s.isDirectory() ? 0o755 : 0o644);
    if (s.isDirectory()) for (const e of await readdir(p)) await writable(join(p, e));
  };
  await writable(root);
  const rd = join(AIRSHIP, 'role-defaults');
  await copyFile(join(rd, 'multistrap.yaml'), join(dir, 'rootfs/multistrap-vars.yaml'));
  await copyFile(join(rd, 'osconfig.yaml'), join(dir, 'rootfs/osconfig-vars.yaml'));
  await copyFile(join(rd, 'livecdcontent.yaml'), join(dir, 'rootfs/livecdcontent-vars.yaml'));
  await copyFile(join(rd, 'qcow.yaml'), join(dir, 'qcow-bundle/control-plane/qcow-vars.yaml'));
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}
