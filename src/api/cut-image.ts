/**
 * `cut-image`: the ISO, or each bundle's QCOW2, cut from the built image as steps of the step runner (`iso`,
 * `qcow:<bundle>` side by side, then `boot:<file>`), with sidecars (md5sum, JSON profile) beside each artifact.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
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
import { type OsconfigLayer, osconfigLayer } from '../stages/osconfig.js';
import { cutQcow, extractRootfs } from '../stages/qcow.js';
import { type DiskPlan, planDisk } from '../stages/qcow-layout.js';
import { newSession } from '../stages/reaper.js';
import { runLogFile, StepRunner } from '../stages/steps.js';
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
function qcowOsconfig(settings: Settings, session: string): QcowOsconfig {
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
        session,
        logFile: join(logDir, `osconfig-qcow-${bundleTag(bundle)}-${process.pid}.log`),
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
  const ctx: CutContext = { opts, settings, config, image, outDir, scratch, logDir, session, runner };
  let ok = false;
  try {
    // What killed cuts left (temp artifacts, scratch folders, containers, throw-away images), by their lease.
    await runner.begin({
      folders: [
        outDir,
        scratch,
        resolve(settings.cacheDir),
        // Each QCOW_BUNDLE_DIRS folder's own output folder.
        ...config.qcowBundles.filter((b) => b.outSub).map((b) => join(outDir, b.outSub ?? '')),
      ],
      docker: true,
    });
    const out = settings.imageType === 'iso' ? [await cutIsoArtifact(ctx)] : await cutQcowArtifacts(ctx);
    ok = true;
    return out;
  } finally {
    await runner.end(ok);
  }
}

/** What the steps of one cut share. */
interface CutContext {
  opts: CutImageOptions;
  settings: Settings;
  config: BuildConfig;
  image: ImageFacts;
  outDir: string;
  scratch: string;
  logDir: string;
  session: string;
  runner: StepRunner;
}

/** The boot test of one artifact as a step (none when BOOT_TIMEOUT=0); each firmware reports on its own. */
async function bootStep(ctx: CutContext, file: string, kind: 'iso' | 'qcow', hostname: string) {
  if (ctx.settings.bootTimeout === 0) return [];
  const boots = await ctx.runner.step(`boot:${basename(file)}`, () =>
    bootTestArtifact({
      artifact: file,
      kind,
      firmware: ['bios', 'uefi'],
      timeoutSec: ctx.settings.bootTimeout,
      hostname,
      cacheDir: resolve(ctx.settings.cacheDir),
      logDir: ctx.logDir,
      ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}),
      ...(ctx.opts.onProgress ? { onProgress: ctx.opts.onProgress } : {}),
    }),
  );
  return boots.map(({ firmware, accel, elapsedMs }) => ({ firmware, accel, elapsedMs }));
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

/**
 * Step `extract` (the image exported and unpacked once), then one step `qcow:<bundle>` per bundle, side by
 * side, each cutting from a hard-linked copy of that tree with its own osconfig layer; then one `boot:<file>`
 * step per artifact. The shared tree is removed whatever happens.
 */
async function cutQcowArtifacts(ctx: CutContext): Promise<CutArtifact[]> {
  const { config, opts, settings } = ctx;
  const plans = await planBundles(config, settings);
  const epoch = sourceDateEpoch(ctx.image);
  const osconfig = opts.osconfig ?? qcowOsconfig(settings, ctx.session);
  const signal = opts.signal ? { signal: opts.signal } : {};
  const baseDir = await mkdtemp(join(ctx.scratch, `base-${leaseTag()}-`));
  let results: CutArtifact[];
  try {
    const base = await ctx.runner.step('extract', () =>
      withContainer(config.imageRef, { [CUT_LABEL]: 'qcow', [SESSION_LABEL]: ctx.session }, async (c) =>
        extractRootfs(await c.export(), baseDir, {
          logFile: join(ctx.logDir, 'cut-qcow-extract.log'),
          ...signal,
        }),
      ),
    );
    // Bundles are cut side by side; every cut settles before a failure is reported, so no container outlives the call.
    results = await inLanes(plans, opts.concurrency ?? 2, async ({ bundle, plan }): Promise<CutArtifact> => {
      const file = join(ctx.outDir, bundle.outSub ?? '', `${bundle.name}.qcow2`);
      await mkdir(dirname(file), { recursive: true });
      const t0 = Date.now();
      const side = await ctx.runner.step(
        `qcow:${bundleTag(bundle)}`,
        async () => {
          const layer = await osconfig(
            config.imageRef,
            bundle,
            join(baseDir, `layer-${bundleTag(bundle)}`),
            opts.signal,
          );
          await cutQcow({
            bundle,
            plan,
            rootfs: { ...base, layer },
            outFile: file,
            scratchDir: ctx.scratch,
            sourceDateEpoch: epoch,
            parallelConvert: opts.parallelConvert ?? true,
            logFile: join(ctx.logDir, `cut-${bundleTag(bundle)}.log`),
            ...signal,
            ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
          });
          const digest = digestOf({ osconfig: bundle.osconfig, qcow: bundle.qcow });
          return sidecars(file, 'qcow', config, ctx.image, digest, epoch);
        },
        file,
      );
      return { file, ...side, cutMs: Date.now() - t0, boots: [] };
    });
  } finally {
    await rm(baseDir, { recursive: true, force: true });
  }
  // One artifact at a time (its firmwares boot side by side): more guests than cores starve each other under TCG.
  for (const r of results) r.boots = await bootStep(ctx, r.file, 'qcow', seedHostname(r.file));
  return results.sort((a, b) => a.file.localeCompare(b.file));
}

/**
 * Every selected bundle with its checked disk plan.
 * @throws ConfigError for a missing bundle folder or a bad layout (all problems at once).
 */
export async function planBundles(
  config: BuildConfig,
  settings: Pick<Settings, 'qcowBundle' | 'qcowNames'>,
): Promise<{ bundle: QcowBundle; plan: DiskPlan }[]> {
  const errors: Diagnostic[] = [];
  const wanted = settings.qcowNames ?? [];
  for (const w of wanted)
    if (!config.qcowBundles.some((b) => b.name === w))
      errors.push({
        severity: 'error',
        file: join(config.manifestsDir ?? '', settings.qcowBundle, w),
        key: 'QCOW_NAMES',
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

/** A bundle's name made unique across bundle folders (`qcow-bundle-x-control-plane` when several are cut). */
function bundleTag(bundle: QcowBundle): string {
  return bundle.outSub ? `${bundle.outSub.replace(/\//g, '-')}-${bundle.name}` : bundle.name;
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
