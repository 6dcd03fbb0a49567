/**
 * `cut-image`: the ISO, or each bundle's QCOW2, cut from the built image as steps of the step runner (`iso`,
 * `qcow:<bundle>` side by side, then `boot:<file>`), with sidecars (md5sum, JSON profile) beside each artifact.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { redactText, secretStrings } from '../config/redact.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import type { BuildConfig, QcowBundle } from '../config/types.js';
import { CUT_LABEL, inspectImage, withContainer } from '../engine/container-io.js';
import { SESSION_LABEL } from '../engine/docker.js';
import { BuildError, UsageError } from '../errors.js';
import { leaseTag } from '../lease.js';
import { digestOf } from '../stages/artifact.js';
import { CutCache } from '../stages/cut-cache.js';
import { cutPlace } from '../stages/cut-place.js';
import { cutIso } from '../stages/iso.js';
import type { OsconfigLayer } from '../stages/osconfig.js';
import { newSession } from '../stages/reaper.js';
import { runLogFile, StepRunner } from '../stages/steps.js';
import type { CommonOptions, ProgressListener } from './common.js';
import { resolveConfig } from './config.js';
import { bootStep, type CutContext, sidecars, sourceDateEpoch } from './cut-context.js';
import { cutQcowArtifacts } from './cut-qcow.js';

export { planBundles } from './cut-qcow.js';

/**
 * Runs osconfig with run_context `qcow` for one bundle on top of `imageRef` and returns what it changed as a
 * layer (tar files named `${out}-N.tar`), applied to the tree the cut extracted once from the image. Defaults
 * to our osconfig role; tests and benchmarks may supply their own.
 */
export type QcowOsconfig = (
  imageRef: string,
  bundle: QcowBundle,
  out: string,
  signal?: AbortSignal,
) => Promise<OsconfigLayer>;

export interface CutImageOptions extends CommonOptions {
  /** An already loaded configuration; loaded from `settings` when absent. */
  config?: BuildConfig;
  /** ISO file name (`--name`/`--out`); default: the config's img_name, else `ephemeral.iso`. */
  name?: string;
  osconfig?: QcowOsconfig;
  /** Bundles cut at the same time (default 2). */
  concurrency?: number;
  /**
   * Parallel qcow2 compression (`qemu-img convert -m 8 -W`, default true). False reproduces the original's
   * single-stream convert, for comparison runs in bench/.
   */
  parallelConvert?: boolean;
}

export interface CutArtifact {
  file: string;
  md5sum: string;
  profile: string;
  cutMs: number;
  boots: { firmware: string; accel: string; elapsedMs: number }[];
}

/**
 * Cuts the ISO or the bundle QCOW2s from the built image, then boot-tests each unless BOOT_TIMEOUT=0.
 * Everything is checked (image present, bundles, partition layouts) before any disk is written.
 * @throws UsageError when the image does not exist; ConfigError naming file and key for bad layouts or
 *   missing bundle folders; BuildError when a step or a boot test fails (no partial artifact is left).
 */
export async function cutImage(opts: CutImageOptions = {}): Promise<CutArtifact[]> {
  const settings: Settings = { ...defaultSettings(), ...opts.settings };
  const config = opts.config ?? (await resolveConfig(settings)).config;
  // Progress messages and errors leave through redactText with the config's secrets.
  const secrets = secretStrings(config);
  const listener = opts.onProgress;
  const onProgress: ProgressListener | undefined = listener
    ? (e) => listener(e.message === undefined ? e : { ...e, message: redactText(e.message, secrets) })
    : undefined;
  try {
    return await cutResolved({ ...opts, ...(onProgress ? { onProgress } : {}) }, settings, config);
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    throw new BuildError(
      redactText(err.message, secrets),
      {
        ...err.details,
        ...(err.details.logTail ? { logTail: redactText(err.details.logTail, secrets) } : {}),
      },
      { cause: err.cause },
    );
  }
}

async function cutResolved(
  opts: CutImageOptions,
  settings: Settings,
  config: BuildConfig,
): Promise<CutArtifact[]> {
  const image = await inspectImage(config.imageRef);
  if (!image)
    throw new UsageError(`image ${config.imageRef} does not exist; run \`image-builder build\` first`);
  const outDir = resolve(settings.outDir);
  // CUT_DIR is the QCOW cut's: the ISO's streams the live-CD folder and works in the cache folder.
  const place =
    settings.imageType === 'qcow'
      ? await cutPlace(settings.cutDir, settings.cacheDir, image.size)
      : { root: resolve(settings.cacheDir), memory: false };
  const scratch = join(place.root, 'cut');
  const logDir = resolve(settings.cacheDir, 'logs');
  await mkdir(outDir, { recursive: true });
  await mkdir(scratch, { recursive: true });
  // Labels the cut's containers and throw-away images so that a killed cut's are found by the next sweep.
  const session = newSession();
  const runner = new StepRunner({
    command: 'cut-image',
    logFile: runLogFile(logDir, 'cut-image'),
    session,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const ctx: CutContext = { opts, settings, config, image, outDir, place, scratch, logDir, session, runner };
  let ok = false;
  try {
    // What killed cuts left (temp artifacts, scratch folders, containers, throw-away images), by their lease.
    await runner.begin({
      folders: [
        outDir,
        scratch,
        resolve(settings.cacheDir),
        ...new Set([
          ...new CutCache(resolve(settings.cacheDir)).folders(),
          ...new CutCache(place.root).folders(),
        ]),
        // Each QCOW_BUNDLE_DIRS folder's own output folder.
        ...config.qcowBundles.filter((b) => b.outSub).map((b) => join(outDir, b.outSub ?? '')),
      ],
      docker: true,
    });
    if (place.note) opts.onProgress?.({ stage: 'cut', kind: 'info', message: place.note });
    const out = settings.imageType === 'iso' ? [await cutIsoArtifact(ctx)] : await cutQcow(ctx);
    ok = true;
    return out;
  } finally {
    await runner.end(ok);
  }
}

/** The bundles' QCOW2s, with a scratch folder for their layers that is removed whatever happens. */
async function cutQcow(ctx: CutContext): Promise<CutArtifact[]> {
  const work = await mkdtemp(join(ctx.scratch, `base-${leaseTag()}-`));
  try {
    return await cutQcowArtifacts(ctx, work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Steps `iso` (the hybrid ISO and its sidecars) and `boot:<file>`. */
async function cutIsoArtifact(ctx: CutContext): Promise<CutArtifact> {
  const { config, opts } = ctx;
  const file = join(ctx.outDir, opts.name ?? config.iso.img_name);
  const epoch = sourceDateEpoch(ctx.image);
  const t0 = Date.now();
  const side = await ctx.runner.step(
    'iso',
    async () => {
      await withContainer(config.imageRef, { [CUT_LABEL]: 'iso', [SESSION_LABEL]: ctx.session }, async (c) =>
        cutIso({
          iso: config.iso,
          livecd: () => c.archive('/livecd'),
          outFile: file,
          scratchDir: ctx.scratch,
          sourceDateEpoch: epoch,
          logFile: join(ctx.logDir, 'cut-iso.log'),
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        }),
      );
      return sidecars(file, 'iso', config, ctx.image, digestOf(config.iso), epoch);
    },
    file,
  );
  const cutMs = Date.now() - t0;
  const hostname = String(config.iso.meta_data.hostname ?? config.iso.meta_data.name ?? '');
  return { file, ...side, cutMs, boots: await bootStep(ctx, file, 'iso', hostname) };
}
