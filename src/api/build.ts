/**
 * `build`: the base image as a list of steps (src/api/build-steps.ts) run by the step runner over one build
 * context. The final image is tagged with the image reference only when every stage succeeded.
 */
import { join, resolve } from 'node:path';
import { redactSecrets, redactText, secretStrings } from '../config/redact.js';
import { defaultSettings, imageReference, type Settings } from '../config/settings.js';
import type { BuildConfig } from '../config/types.js';
import { pingDocker } from '../engine/docker.js';
import { BuildError } from '../errors.js';
import { newSession } from '../stages/reaper.js';
import { runLogFile, StepRunner } from '../stages/steps.js';
import { digestOf, type StageName, StageStore } from '../stages/store.js';
import { type BuildContext, buildScratchFolders, buildSteps, STAGE_NAMES } from './build-steps.js';
import type { CommonOptions, ProgressEvent } from './common.js';
import { resolveConfig } from './config.js';

export interface BuildOptions extends CommonOptions {
  /** An already resolved configuration; when absent it is loaded from `settings.workdir`. */
  config?: BuildConfig;
}

export interface StageTiming {
  stage: StageName;
  outcome: 'built' | 'reused' | 'skipped';
  ms: number;
}

export interface BuildResult {
  imageRef: string;
  imageId: string;
  /** Input digests of the stage results used. */
  digests: Record<StageName, string>;
  /** Digest of the build configuration (redacted), also in the image's labels. */
  configDigest: string;
  /** The four cached stages (rootfs, image, osconfig, livecd), in order. */
  timings: StageTiming[];
  logFile: string;
}

/**
 * Builds the base container image and tags it `${DOCKER_REGISTRY}/${IMAGE_PREFIX}/image-builder:${IMAGE_TAG}-${DISTRO}`.
 * @throws ConfigError when the manifests folder is invalid.
 * @throws BuildError naming the failed stage, the cause and the log file (`details.stage`, `details.logFile`).
 */
export async function build(opts: BuildOptions = {}): Promise<BuildResult> {
  const settings: Settings = { ...defaultSettings(), ...opts.config?.settings, ...opts.settings };
  const config: BuildConfig = opts.config
    ? { ...opts.config, settings }
    : (await resolveConfig(settings)).config;
  // Every progress message and error leaves through redactText with the config's secrets.
  const secrets = secretStrings(config);
  const redact = (t: string) => redactText(t, secrets);
  const emit = (e: ProgressEvent) =>
    opts.onProgress?.(e.message === undefined ? e : { ...e, message: redact(e.message) });
  const cacheDir = resolve(settings.cacheDir);
  const logFile = runLogFile(join(cacheDir, 'logs'), 'build');
  const session = newSession();
  const runner = new StepRunner({
    command: 'build',
    logFile,
    session,
    onProgress: emit,
    redact,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const redacted = redactSecrets(config);
  const ctx: BuildContext = {
    config,
    settings,
    cacheDir,
    logFile,
    session,
    imageRef: imageReference(settings),
    store: new StageStore(cacheDir),
    emit,
    digests: {},
    records: {},
    configDigest: digestOf({
      multistrap: redacted.multistrap,
      osconfig: redacted.osconfig,
      livecdcontent: redacted.livecdcontent,
    }),
    imageId: '',
    ...(opts.signal ? { signal: opts.signal } : {}),
  };

  const onAbort = () => emit({ stage: runner.current, kind: 'warning', message: 'interrupted: cleaning up' });
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let ok = false;
  try {
    await pingDocker();
    // Leftovers of killed runs (containers, untagged images, temp files), by their lease: never a live run's.
    await runner.begin({ folders: buildScratchFolders(cacheDir), docker: true });
    emit({ stage: 'build', kind: 'info', message: `log file: ${logFile}` });
    await runner.run(buildSteps(settings), ctx);
    ok = true;
    const timings = runner.timings.flatMap((t) =>
      (STAGE_NAMES as readonly string[]).includes(t.step) && t.outcome !== 'failed'
        ? [{ stage: t.step as StageName, outcome: t.outcome, ms: t.ms }]
        : [],
    );
    return {
      imageRef: ctx.imageRef,
      imageId: ctx.imageId,
      digests: ctx.digests as Record<StageName, string>,
      configDigest: ctx.configDigest,
      timings,
      logFile,
    };
  } catch (err) {
    throw failure(err, runner.current, logFile, secrets, opts.signal);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // A container of this session can only survive here if removal itself failed mid-way; try once more.
    await runner.end(ok);
  }
}

/** The BuildError a failed build throws: the stage, the cause, the log file; every text redacted. */
function failure(
  err: unknown,
  stage: string,
  logFile: string,
  secrets: readonly string[],
  signal?: AbortSignal,
): BuildError {
  const e = err instanceof Error ? err : new Error(String(err));
  const d = err instanceof BuildError ? err.details : {};
  const aborted = signal?.aborted ? ' (interrupted)' : '';
  return new BuildError(
    redactText(`${stage} stage failed${aborted}: ${e.message}\nlog: ${d.logFile ?? logFile}`, secrets),
    {
      stage,
      logFile: d.logFile ?? logFile,
      ...(d.logTail ? { logTail: redactText(d.logTail, secrets) } : {}),
    },
    // The cause is kept for debugging but its message may hold what the tool printed: redact it too.
    { cause: redactedCause(err, secrets) },
  );
}

/** An error with its message redacted, the chain of causes kept (also redacted). */
function redactedCause(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof Error)) return err;
  const copy = new Error(redactText(err.message, secrets), {
    cause: err.cause === undefined ? undefined : redactedCause(err.cause, secrets),
  });
  copy.name = err.name;
  copy.stack = redactText(err.stack ?? '', secrets);
  return copy;
}
