/**
 * `images`, the original's Make target of that name: build the image, cut the ephemeral ISO, then cut and
 * package every bundle folder (package-qcow). Unlike the original it does not run `clean` afterwards, so the
 * ISO and QCOW2s stay in OUT_DIR (docs/original-mapping.md).
 */
import { defaultSettings } from '../config/settings.js';
import { type BuildResult, build } from './build.js';
import type { CommonOptions } from './common.js';
import { type CutArtifact, cutImage } from './cut-image.js';
import { type PackagedBundle, packageQcow } from './package-qcow.js';

export interface ImagesOptions extends CommonOptions {
  /** See {@link PackageQcowOptions.everyBundleFolder}. */
  everyBundleFolder?: boolean;
}

export interface ImagesResult {
  build: BuildResult;
  iso: CutArtifact[];
  bundles: PackagedBundle[];
}

/**
 * Runs build, the ISO cut and package-qcow in turn; the first failure stops the rest.
 * @throws whatever the failing step throws (ConfigError, UsageError, BuildError).
 */
export async function images(opts: ImagesOptions = {}): Promise<ImagesResult> {
  const settings = { ...defaultSettings(), ...opts.settings };
  const common = {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  const built = await build({ settings, ...common });
  const iso = await cutImage({ settings: { ...settings, imageType: 'iso' }, ...common });
  const bundles = await packageQcow({
    settings: { ...settings, imageType: 'qcow' },
    everyBundleFolder: opts.everyBundleFolder ?? false,
    ...common,
  });
  return { build: built, iso, bundles };
}
