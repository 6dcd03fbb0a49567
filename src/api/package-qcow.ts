/**
 * package-qcow as the original's `make package_qcow`: for each selected bundle folder, cut the QCOW2s that
 * are missing (or were cut from another image), put them with their md5sums and profiles into an image on
 * top of the built image, tag it `REGISTRY/PREFIX/<folder>:TAG-DISTRO`, and push it with PUSH_IMAGE. The
 * image is a KRM function (`docker run -i --rm IMAGE < resourcelist.yaml`): see defaults/krm/.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { listBundleFolders } from '../config/locate.js';
import { redactValue } from '../config/redact.js';
import { defaultSettings, qcowImageReference, type Settings } from '../config/settings.js';
import type { BuildConfig, QcowBundle } from '../config/types.js';
import { CUT_LABEL, inspectImage, withContainer } from '../engine/container-io.js';
import { pushImage, SESSION_LABEL } from '../engine/docker.js';
import { layerImage } from '../engine/layer-image.js';
import { BuildError, UsageError } from '../errors.js';
import { envSourceDateEpoch } from '../source-date-epoch.js';
import { newSession } from '../stages/names.js';
import { KRM_FUNCTION_PATH, type PackagedFile, packageTar, profileFiles } from '../stages/package-qcow.js';
import { runLogFile, StepRunner } from '../stages/steps.js';
import type { CommonOptions } from './common.js';
import { resolveConfig } from './config.js';
import { cutImage } from './cut-image.js';
import { krmFunctionFile } from './krm-function.js';
import { toolVersion } from './tool-version.js';

export interface PackageQcowOptions extends CommonOptions {
  config?: BuildConfig;
  /**
   * With QCOW_BUNDLE_DIRS empty, package every `qcow-bundle*` folder of the manifests folder (the original's
   * default). The CLI sets it when QCOW_BUNDLE was not given.
   */
  everyBundleFolder?: boolean;
}

export interface PackagedBundle {
  /** Bundle folder, relative to the manifests folder. */
  folder: string;
  imageRef: string;
  imageId: string;
  /** QCOW images that had to be cut first. */
  cut: string[];
  pushed: boolean;
}

/** Label on bundle images: the base image they were made from. `clean` finds its images by it. */
export const BASE_IMAGE_LABEL = 'io.airshipit.image-builder.base-image';

/**
 * Settings with QCOW_BUNDLE_DIRS filled with every `qcow-bundle*` folder when asked to and none was named.
 * @throws nothing; a manifests folder without such folders keeps QCOW_BUNDLE.
 */
export async function withEveryBundleFolder(settings: Settings, every: boolean): Promise<Settings> {
  if (!every || settings.qcowBundleDirs.length > 0 || !settings.workdir) return settings;
  const folders = await listBundleFolders(settings.workdir);
  return folders.length > 0 ? { ...settings, qcowBundleDirs: folders } : settings;
}

/** The artifact files of one QCOW and whether they were cut from `imageId`. */
async function artifactsOf(
  outDir: string,
  b: QcowBundle,
  imageId: string,
): Promise<{ files: PackagedFile[]; current: boolean }> {
  const dir = join(outDir, b.outSub ?? '');
  const files: PackagedFile[] = [
    { name: `qcows/${b.name}.qcow2`, source: join(dir, `${b.name}.qcow2`) },
    { name: `qcows/${b.name}.qcow2.md5sum`, source: join(dir, `${b.name}.qcow2.md5sum`) },
    { name: `profiles/${b.name}.json`, source: join(dir, `${b.name}.json`) },
  ];
  for (const f of files)
    if (!(await stat(f.source as string).catch(() => null))) return { files, current: false };
  const profile = JSON.parse(await readFile(join(dir, `${b.name}.json`), 'utf8').catch(() => '{}')) as {
    image?: { id?: string };
  };
  return { files, current: profile.image?.id === imageId };
}

/** What to package: each bundle folder's artifact files, and the bundles to cut first. */
async function planPackages(
  config: BuildConfig,
  settings: Settings,
  outDir: string,
  imageId: string,
): Promise<{ missing: QcowBundle[]; files: Map<string, PackagedFile[]> }> {
  const missing: QcowBundle[] = [];
  const files = new Map<string, PackagedFile[]>();
  for (const b of config.qcowBundles) {
    const a = await artifactsOf(outDir, b, imageId);
    if (!a.current) missing.push(b);
    const folder = b.folder ?? settings.qcowBundle;
    files.set(folder, [...(files.get(folder) ?? []), ...a.files]);
  }
  return { missing, files };
}

/** What the steps of one package-qcow run share. */
interface PackageContext {
  opts: PackageQcowOptions;
  settings: Settings;
  config: BuildConfig;
  base: { id: string; labels: Record<string, string> };
  session: string;
}

/** Commits one bundle folder's image: its artifacts, its profiles and the KRM function over the built image. */
async function commitBundleImage(
  ctx: PackageContext,
  imageRef: string,
  bundles: QcowBundle[],
  artifacts: PackagedFile[],
): Promise<string> {
  const { config, base, opts } = ctx;
  const mtime = new Date((envSourceDateEpoch() ?? 0) * 1000);
  const profiles = [...profileFiles(config, bundles, redactValue)].map(
    ([name, bytes]): PackagedFile => ({ name: `profiles/${name}`, source: bytes }),
  );
  const fn: PackagedFile = { name: KRM_FUNCTION_PATH.slice(1), source: await krmFunctionFile(), mode: 0o755 };
  return layerImage({
    base: config.imageRef,
    tar: packageTar([...artifacts, ...profiles, fn], mtime),
    ref: imageRef,
    session: ctx.session,
    labels: {
      ...Object.fromEntries(Object.entries(base.labels).filter(([k]) => k.startsWith('org.opencontainers.'))),
      'org.opencontainers.image.title': imageRef,
      'io.airshipit.image-builder.version': toolVersion(),
      [BASE_IMAGE_LABEL]: config.imageRef,
      'io.airshipit.image-builder.bundles': bundles.map((b) => b.name).join(','),
    },
    changes: [`ENTRYPOINT ["/usr/bin/python3", "${KRM_FUNCTION_PATH}"]`, 'CMD []', 'WORKDIR /'],
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** The steps after the check: cut what is missing, then per folder `package:<folder>` and `push:<folder>`. */
async function runSteps(ctx: PackageContext, runner: StepRunner): Promise<PackagedBundle[]> {
  const { opts, settings, config } = ctx;
  const plan = await planPackages(config, settings, resolve(settings.outDir), ctx.base.id);
  const { missing } = plan;
  if (missing.length > 0) {
    const names = missing.map((b) => join(b.outSub ?? '', b.name)).join(', ');
    await runner.step(
      'cut',
      async (h) => {
        h.info(`cutting first: ${names}`);
        await cutImage({
          ...opts,
          settings: { ...settings, imageType: 'qcow', qcowNames: [] },
          config: { ...config, qcowBundles: missing },
        });
      },
      names,
    );
  }
  const out: PackagedBundle[] = [];
  for (const [folder, artifacts] of plan.files) {
    const bundles = config.qcowBundles.filter((b) => (b.folder ?? settings.qcowBundle) === folder);
    const imageRef = qcowImageReference(settings, folder);
    const imageId = await runner.step(
      `package:${folder}`,
      () => commitBundleImage(ctx, imageRef, bundles, artifacts),
      `${imageRef} (${bundles.length} QCOW2s)`,
    );
    if (settings.pushImage)
      await runner.step(`push:${folder}`, () => pushImage(imageRef, opts.signal), imageRef);
    const cut = missing.filter((b) => bundles.includes(b)).map((b) => b.name);
    out.push({ folder, imageRef, imageId, cut, pushed: settings.pushImage });
  }
  return out;
}

/**
 * Packages (cutting first what is missing) every selected bundle folder into its image, through the step
 * runner: each step timed and logged in `<cacheDir>/logs/package-qcow-*.log`, our leftovers swept at the start
 * and this run's containers reaped at the end.
 * @throws UsageError when the built image does not exist; ConfigError for bad bundle settings; BuildError
 *   when a cut, the image commit, the function's runtime check or the push fails.
 */
export async function packageQcow(opts: PackageQcowOptions = {}): Promise<PackagedBundle[]> {
  const settings = await withEveryBundleFolder(
    { ...defaultSettings(), ...opts.settings },
    opts.everyBundleFolder ?? false,
  );
  const config = opts.config ?? (await resolveConfig(settings)).config;
  const session = newSession();
  const runner = new StepRunner({
    command: 'package-qcow',
    logFile: runLogFile(resolve(settings.cacheDir, 'logs'), 'package-qcow'),
    session,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  let ok = false;
  try {
    await runner.begin({ folders: [], docker: true });
    const base = await inspectImage(config.imageRef);
    if (!base)
      throw new UsageError(`image ${config.imageRef} does not exist; run \`image-builder build\` first`);
    await runner.step(
      'check',
      () => checkRuntime(config.imageRef, session),
      `python3 and PyYAML in ${config.imageRef}`,
    );
    const out = await runSteps({ opts, settings, config, base, session }, runner);
    ok = true;
    return out;
  } finally {
    await runner.end(ok);
  }
}

/**
 * The function runs on the base image's python3 with PyYAML (cloud-init's dependency); an image without
 * them would make a bundle image that fails only when airshipctl runs it, so it is refused here.
 * @throws BuildError naming the image and what it lacks.
 */
async function checkRuntime(ref: string, session: string): Promise<void> {
  await withContainer(ref, { [CUT_LABEL]: 'package-check', [SESSION_LABEL]: session }, async (c) => {
    for (const path of ['/usr/bin/python3', '/usr/lib/python3/dist-packages/yaml/__init__.py']) {
      const ok = await c
        .archive(path)
        .then((s) => {
          s.resume();
          return true;
        })
        .catch(() => false);
      if (!ok)
        throw new BuildError(
          `package-qcow: image ${ref} has no ${path}; the bundle image's KRM function needs python3 and PyYAML (python3-yaml, which cloud-init brings) in the built image`,
        );
    }
  });
}
