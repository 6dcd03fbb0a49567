import { resolve } from 'node:path';
import { defaultSettings, qcowImageReference, type Settings } from '../config/settings.js';
import type { BuildConfig } from '../config/types.js';
import { importImage, inspectImage } from '../engine/container-io.js';
import { ConfigError } from '../errors.js';
import { packageFiles, packageTar } from '../stages/package-qcow.js';
import { sweepLeftovers } from '../stages/reaper.js';
import type { CommonOptions } from './common.js';
import { resolveConfig } from './config.js';
import { toolVersion } from './tool-version.js';

export interface PackageQcowOptions extends CommonOptions {
  config?: BuildConfig;
}

/**
 * Packages the bundle's cut QCOW2s, md5sums and profiles into an image, labelled like the base image.
 * @throws ConfigError naming each artifact that was not cut yet; BuildError when the import fails.
 */
export async function packageQcow(
  opts: PackageQcowOptions = {},
): Promise<{ imageRef: string; imageId: string }> {
  const settings: Settings = { ...defaultSettings(), ...opts.settings };
  await sweepLeftovers({ folders: [] });
  const config = opts.config ?? (await resolveConfig(settings)).config;
  const names = config.qcowBundles
    .map((b) => b.name)
    .filter((n) => settings.qcowBundleDirs.length === 0 || settings.qcowBundleDirs.includes(n));
  const outDir = resolve(settings.outDir);
  const { files, missing } = await packageFiles(outDir, names);
  if (missing.length || names.length === 0)
    throw new ConfigError(
      (names.length ? missing : [outDir]).map((m) => ({
        severity: 'error' as const,
        file: m,
        key: 'QCOW_BUNDLE',
        message: names.length
          ? 'not found; run `image-builder cut-image --type qcow` first'
          : 'no bundles to package',
      })),
    );
  const base = await inspectImage(config.imageRef);
  const labels: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(base?.labels ?? {}).filter(([k]) => k.startsWith('org.opencontainers.')),
    ),
    'org.opencontainers.image.title': `${settings.qcowBundle} QCOW2 images`,
    'io.airshipit.image-builder.version': toolVersion(),
    'io.airshipit.image-builder.base-image': config.imageRef,
    'io.airshipit.image-builder.bundles': names.join(','),
  };
  const imageRef = qcowImageReference(settings);
  opts.onProgress?.({ stage: 'package-qcow', kind: 'start', message: imageRef });
  const mtime = new Date((Number(process.env.SOURCE_DATE_EPOCH) || 0) * 1000);
  const imageId = await importImage(packageTar(files, mtime), imageRef, labels, opts.signal);
  opts.onProgress?.({ stage: 'package-qcow', kind: 'done', message: `${imageRef} (${files.length} files)` });
  return { imageRef, imageId };
}
