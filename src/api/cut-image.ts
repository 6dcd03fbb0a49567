import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { redactText, secretStrings } from '../config/redact.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import type { BuildConfig, QcowBundle } from '../config/types.js';
import { CUT_LABEL, type ImageFacts, inspectImage, withContainer } from '../engine/container-io.js';
import { SESSION_LABEL } from '../engine/docker.js';
import { BuildError, ConfigError, type Diagnostic, UsageError } from '../errors.js';
import { leaseTag } from '../lease.js';
import { digestOf, md5File, writeSidecars } from '../stages/artifact.js';
import { bootTestArtifact, seedHostname } from '../stages/boot.js';
import { cutIso } from '../stages/iso.js';
import { inLanes } from '../stages/lanes.js';
import { newSession } from '../stages/names.js';
import { type OsconfigLayer, osconfigLayer } from '../stages/osconfig.js';
import { cutQcow, extractRootfs } from '../stages/qcow.js';
import { type DiskPlan, planDisk } from '../stages/qcow-layout.js';
import { sweepLeftovers, sweepSummary } from '../stages/sweep.js';
import type { CommonOptions, ProgressListener } from './common.js';
import { resolveConfig } from './config.js';
import { toolVersion } from './tool-version.js';

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

/** The default qcow osconfig: our role with run_context `qcow` and the bundle's vars, kept as a layer. */
function qcowOsconfig(settings: Settings): QcowOsconfig {
  return async (imageRef, bundle, out, signal) => {
    const logDir = join(resolve(settings.cacheDir), 'logs');
    await mkdir(logDir, { recursive: true, mode: 0o700 });
    return osconfigLayer(
      {
        image: imageRef,
        vars: bundle.osconfig,
        runContext: 'qcow',
        proxy: settings.proxy,
        noProxy: settings.noProxy,
        session: newSession(),
        logFile: join(logDir, `osconfig-qcow-${bundle.name}-${process.pid}.log`),
        ...(signal ? { signal } : {}),
      },
      out,
    );
  };
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
  const scratch = resolve(settings.cacheDir, 'cut');
  await mkdir(outDir, { recursive: true });
  await mkdir(scratch, { recursive: true });
  // What killed cuts left (temp artifacts, scratch folders, containers, throw-away images), by their lease.
  const swept = sweepSummary(
    await sweepLeftovers({ folders: [outDir, scratch, resolve(settings.cacheDir)], docker: true }),
  );
  if (swept) opts.onProgress?.({ stage: 'cut', kind: 'info', message: swept });
  // Labels the cut's containers so that a killed cut's are found by the next sweep.
  const session = { [SESSION_LABEL]: newSession() };
  const epoch = sourceDateEpoch(image);
  const logDir = resolve(settings.cacheDir, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const boot = async (file: string, kind: 'iso' | 'qcow', hostname: string) =>
    settings.bootTimeout === 0
      ? []
      : bootTestArtifact({
          artifact: file,
          kind,
          firmware: ['bios', 'uefi'],
          timeoutSec: settings.bootTimeout,
          hostname,
          cacheDir: resolve(settings.cacheDir),
          logDir,
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        });

  if (settings.imageType === 'iso') {
    const file = join(outDir, opts.name ?? (config.iso.img_name || 'ephemeral.iso'));
    const t0 = Date.now();
    opts.onProgress?.({ stage: 'iso', kind: 'start', message: file });
    await withContainer(config.imageRef, { [CUT_LABEL]: 'iso', ...session }, async (c) =>
      cutIso({
        iso: config.iso,
        livecd: () => c.archive('/livecd'),
        outFile: file,
        scratchDir: scratch,
        sourceDateEpoch: epoch,
        logFile: join(logDir, 'cut-iso.log'),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      }),
    );
    const cutMs = Date.now() - t0;
    const side = await sidecars(file, 'iso', config, image, digestOf(config.iso), epoch);
    opts.onProgress?.({ stage: 'iso', kind: 'done', elapsedMs: cutMs, message: file });
    const hostname = String(config.iso.meta_data.hostname ?? config.iso.meta_data.name ?? '');
    const boots = await boot(file, 'iso', hostname);
    return [
      {
        file,
        ...side,
        cutMs,
        boots: boots.map(({ firmware, accel, elapsedMs }) => ({ firmware, accel, elapsedMs })),
      },
    ];
  }

  const results = await cutBundles(opts, settings, config, {
    image,
    session,
    epoch,
    logDir,
    outDir,
    scratch,
  });
  // One artifact at a time (its firmwares boot side by side): more guests than cores starve each other under TCG.
  for (const r of results) {
    const b = await boot(r.file, 'qcow', seedHostname(r.file));
    r.boots = b.map(({ firmware, accel, elapsedMs }) => ({ firmware, accel, elapsedMs }));
  }
  return results.sort((a, b) => a.file.localeCompare(b.file));
}

/** Where and how the bundles of one cut are written. */
interface BundleCutContext {
  image: ImageFacts;
  session: Record<string, string>;
  epoch: number;
  logDir: string;
  outDir: string;
  scratch: string;
}

/**
 * Exports and unpacks the image once, then cuts every selected bundle from a hard-linked copy of that tree
 * with the bundle's own osconfig layer, two side by side. The shared tree is removed whatever happens.
 * @throws ConfigError from planBundles; BuildError naming the bundle's failed step.
 */
async function cutBundles(
  opts: CutImageOptions,
  settings: Settings,
  config: BuildConfig,
  ctx: BundleCutContext,
): Promise<CutArtifact[]> {
  const { image, session, epoch, logDir, outDir, scratch } = ctx;
  const plans = await planBundles(config, settings);
  // The image is exported and unpacked once; each bundle cuts from a hard-linked copy with its own layer.
  const baseDir = await mkdtemp(join(scratch, `base-${leaseTag()}-`));
  try {
    opts.onProgress?.({ stage: 'qcow', kind: 'progress', message: 'extract' });
    const base = await withContainer(config.imageRef, { [CUT_LABEL]: 'qcow', ...session }, async (c) =>
      extractRootfs(await c.export(), baseDir, {
        logFile: join(logDir, 'cut-qcow-extract.log'),
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
    );
    // Bundles are cut side by side; every cut settles before a failure is reported, so no container outlives the call.
    return await inLanes(plans, opts.concurrency ?? 2, async ({ bundle, plan }): Promise<CutArtifact> => {
      const file = join(outDir, `${bundle.name}.qcow2`);
      const stage = `qcow:${bundle.name}`;
      const t0 = Date.now();
      opts.onProgress?.({ stage, kind: 'start', message: file });
      opts.onProgress?.({ stage, kind: 'progress', message: 'osconfig' });
      const osconfig = opts.osconfig ?? qcowOsconfig(settings);
      const layer = await osconfig(
        config.imageRef,
        bundle,
        join(baseDir, `layer-${bundle.name}`),
        opts.signal,
      );
      await cutQcow({
        bundle,
        plan,
        rootfs: { ...base, layer },
        outFile: file,
        scratchDir: scratch,
        sourceDateEpoch: epoch,
        parallelConvert: opts.parallelConvert ?? true,
        logFile: join(logDir, `cut-${bundle.name}.log`),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      const cutMs = Date.now() - t0;
      const side = await sidecars(
        file,
        'qcow',
        config,
        image,
        digestOf({ osconfig: bundle.osconfig, qcow: bundle.qcow }),
        epoch,
      );
      opts.onProgress?.({ stage, kind: 'done', elapsedMs: cutMs, message: file });
      return { file, ...side, cutMs, boots: [] };
    });
  } finally {
    await rm(baseDir, { recursive: true, force: true });
  }
}

/**
 * Every selected bundle with its checked disk plan.
 * @throws ConfigError for a missing bundle folder or a bad layout (all problems at once).
 */
export async function planBundles(
  config: BuildConfig,
  settings: Pick<Settings, 'qcowBundle' | 'qcowBundleDirs'>,
): Promise<{ bundle: QcowBundle; plan: DiskPlan }[]> {
  const errors: Diagnostic[] = [];
  const wanted = settings.qcowBundleDirs;
  for (const w of wanted)
    if (!config.qcowBundles.some((b) => b.name === w))
      errors.push({
        severity: 'error',
        file: join(config.manifestsDir ?? '', settings.qcowBundle, w),
        key: 'QCOW_BUNDLE_DIRS',
        message: `bundle folder ${w} does not exist`,
      });
  const bundles = config.qcowBundles.filter((b) => wanted.length === 0 || wanted.includes(b.name));
  if (bundles.length === 0 && errors.length === 0)
    errors.push({
      severity: 'error',
      file: join(config.manifestsDir ?? '', settings.qcowBundle),
      key: 'QCOW_BUNDLE',
      message: 'no bundle sub-folders to cut',
    });
  const out: { bundle: QcowBundle; plan: DiskPlan }[] = [];
  for (const b of bundles) {
    if (!(await stat(b.dir).catch(() => null)))
      errors.push({
        severity: 'error',
        file: b.dir,
        key: 'QCOW_BUNDLE_DIRS',
        message: 'bundle folder does not exist',
      });
    const r = planDisk(b.qcow, `${config.imageRef}:${b.name}`, join(b.dir, 'qcow-vars.yaml'));
    if (r.plan) out.push({ bundle: b, plan: r.plan });
    else errors.push(...r.errors);
  }
  if (errors.length) throw new ConfigError(errors);
  return out;
}

function sourceDateEpoch(image: ImageFacts): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env);
  const t = Date.parse(image.created);
  return Number.isFinite(t) && t > 0 ? Math.floor(t / 1000) : 0;
}

async function sidecars(
  file: string,
  type: 'iso' | 'qcow',
  config: BuildConfig,
  image: ImageFacts,
  configDigest: string,
  epoch: number,
) {
  const md5 = await md5File(file);
  const bytes = (await stat(file)).size;
  return writeSidecars(file, {
    artifact: file.split('/').pop() ?? file,
    type,
    md5,
    bytes,
    image: { ref: config.imageRef, id: image.id, digest: image.digest },
    configDigest,
    tool: { name: 'airship-image-builder', version: toolVersion() },
    sourceDateEpoch: epoch,
  });
}
