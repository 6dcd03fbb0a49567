/**
 * `DISTRO`: which defaults set the bundled layer is. Each set is a folder in the manifests layout under
 * `defaults/distros/<name>/`, read over `defaults/manifests/` and under the user's folder, so it decides the
 * bootstrap suite and mirror (the first repo's), the package names and anything else that differs by
 * distribution. `debian_bookworm` is `defaults/manifests/` itself and the only one that builds from Debian's
 * archive alone; `ubuntu_focal` holds the original image-builder's own values.
 */
import { dirname, join } from 'node:path';

export interface DistroSpec {
  /** What the set is, for messages and the docs. */
  readonly title: string;
  /** Folder of the set below `defaults/distros/`; none when `defaults/manifests/` alone is the set. */
  readonly overlay?: string;
}

export const DISTROS: Readonly<Record<string, DistroSpec>> = {
  debian_bookworm: { title: 'Debian 12 (bookworm): the original node translated to Debian' },
  ubuntu_focal: {
    title: "Ubuntu 20.04 (focal): the original image-builder's own repositories and packages",
    overlay: 'ubuntu_focal',
  },
};

/** The distro's defaults folder given the bundled `defaults/manifests/` folder, or undefined when none. */
export function distroOverlayDir(bundledManifests: string, distro: string): string | undefined {
  const overlay = DISTROS[distro]?.overlay;
  return overlay ? join(dirname(bundledManifests), 'distros', overlay) : undefined;
}
