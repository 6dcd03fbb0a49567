/**
 * Profiles bundled with the tool (`defaults/profiles/<name>/`), used when the user's profiles folder has no
 * profile of that name: the original's `k8s-*` profiles, which add the Kubernetes repository. A profile may
 * hold a variant per DISTRO (`<name>/<distro>/manifests`, e.g. for ubuntu_focal, whose defaults already carry
 * the original's repositories); `<name>/manifests` is the default distro's.
 */
import { dirname, join } from 'node:path';
import { isDir } from './files.js';

/** `defaults/profiles/` given the bundled `defaults/manifests/` folder. */
export function bundledProfilesDir(bundledManifests: string): string {
  return join(dirname(bundledManifests), 'profiles');
}

/** The bundled overlay of profile `name` for `distro`, or undefined when the tool bundles no such profile. */
export async function bundledProfile(
  bundledManifests: string,
  distro: string,
  name: string,
): Promise<string | undefined> {
  const base = join(bundledProfilesDir(bundledManifests), name);
  for (const dir of [join(base, distro, 'manifests'), join(base, 'manifests')])
    if (await isDir(dir)) return dir;
  return undefined;
}
