/**
 * `build`: rootfs → image → osconfig → livecd, each stage reused when the digest of its inputs is unchanged
 * (or skipped by the SKIP_* settings, reusing its last result), then the final image tagged with the image
 * reference. Nothing is tagged with the reference unless every stage succeeded.
 */
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { redactSecrets, redactText, secretStrings } from '../config/redact.js';
import { defaultSettings, imageReference, type Settings } from '../config/settings.js';
import type { BuildConfig } from '../config/types.js';
import {
  imageId,
  labelChanges,
  listSessionContainers,
  pingDocker,
  pushImage,
  removeContainer,
  tagImage,
} from '../engine/docker.js';
import { BuildError } from '../errors.js';
import { imageStage, stageTag } from '../stages/image.js';
import { fetchKeyrings } from '../stages/keyrings.js';
import { embeddedGrubCfg, livecdStage, liveGrubCfg, type SquashTar } from '../stages/livecd.js';
import { newSession } from '../stages/names.js';
import { applyOsconfig } from '../stages/osconfig.js';
import { bundledPlaybook } from '../stages/playbook-path.js';
import { rootfsDigestInput, rootfsStage } from '../stages/rootfs.js';
import { digestOf, type StageName, type StageRecord, StageStore } from '../stages/store.js';
import { sweepLeftovers, sweepSummary } from '../stages/sweep.js';
import type { CommonOptions, ProgressEvent } from './common.js';
import { resolveConfig } from './config.js';
import { squash } from './squash.js';

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
  timings: StageTiming[];
  logFile: string;
}

const SKIP_SETTING: Record<StageName, string> = {
  rootfs: 'SKIP_MULTISTRAP',
  image: 'SKIP_MULTI_ROLE',
  osconfig: 'SKIP_OSCONFIG_ROLE',
  livecd: 'SKIP_LIVECDCONTENT_ROLE',
};

/** Digest of every file of the bundled osconfig role: a changed role re-runs the stage. */
async function roleDigest(): Promise<string> {
  const root = join(bundledPlaybook('osconfig.yaml'), '..');
  const files: Record<string, string> = {};
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p, `${rel}${e.name}/`);
      else if (e.isFile()) files[`${rel}${e.name}`] = await readFile(p, 'utf8');
    }
  };
  await walk(root, '');
  return digestOf(files);
}

/** The folders where a build keeps temp files and scratch folders (swept at the start of every build). */
function buildScratchFolders(cacheDir: string): string[] {
  return [
    cacheDir,
    join(cacheDir, 'rootfs'),
    join(cacheDir, 'keyrings'),
    join(cacheDir, 'livecd'),
    ...(['rootfs', 'image', 'osconfig', 'livecd'] as const).map((s) => join(cacheDir, 'stages', s)),
  ];
}

/** The live root's squashfs, written by the native writer straight from the export stream. */
const squashTar: SquashTar = async (tar, out, o) => {
  await squash({
    source: tar,
    out,
    comp: o.compressor,
    ...(o.level !== undefined ? { level: o.level } : {}),
    ...(o.threads > 0 ? { processors: o.threads } : {}),
    exclude: o.exclude,
    stallTimeoutMs: o.timeoutSeconds * 1000,
    ...(o.signal ? { signal: o.signal } : {}),
  });
};

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
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
  const emit = (e: ProgressEvent) =>
    opts.onProgress?.(e.message === undefined ? e : { ...e, message: redactText(e.message, secrets) });
  const signal = opts.signal;
  const cacheDir = resolve(settings.cacheDir);
  const logDir = join(cacheDir, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const logFile = join(logDir, `build-${stamp(new Date())}-${process.pid}.log`);
  emit({ stage: 'build', kind: 'info', message: `log file: ${logFile}` });

  const imageRef = imageReference(settings);
  const session = newSession();
  const store = new StageStore(cacheDir);
  const timings: StageTiming[] = [];
  const digests = {} as Record<StageName, string>;
  let current: StageName | 'build' = 'build';

  const fail = (err: unknown): never => {
    const e = err instanceof Error ? err : new Error(String(err));
    const d = err instanceof BuildError ? err.details : {};
    const aborted = signal?.aborted ? ' (interrupted)' : '';
    throw new BuildError(
      redactText(`${current} stage failed${aborted}: ${e.message}\nlog: ${d.logFile ?? logFile}`, secrets),
      {
        stage: current,
        logFile: d.logFile ?? logFile,
        ...(d.logTail ? { logTail: redactText(d.logTail, secrets) } : {}),
      },
      // The cause is kept for debugging but its message may hold what the tool printed: redact it too.
      { cause: redactedCause(err, secrets) },
    );
  };

  const stageRun = async (
    name: StageName,
    digest: string,
    skip: boolean,
    valid: (r: StageRecord) => Promise<boolean>,
    exec: () => Promise<StageRecord['output']>,
  ): Promise<StageRecord> => {
    current = name;
    const t0 = Date.now();
    if (signal?.aborted) throw new BuildError('aborted');
    if (skip) {
      const rec = await store.latest(name);
      if (!rec || !(await valid(rec)))
        throw new BuildError(`${SKIP_SETTING[name]} is set but there is no previous ${name} result to reuse`);
      digests[name] = rec.digest;
      timings.push({ stage: name, outcome: 'skipped', ms: Date.now() - t0 });
      emit({
        stage: name,
        kind: 'skipped',
        message: `skipped (${SKIP_SETTING[name]}): reusing previous result`,
      });
      return rec;
    }
    const prev = await store.get(name, digest);
    if (prev && (await valid(prev))) {
      digests[name] = digest;
      timings.push({ stage: name, outcome: 'reused', ms: Date.now() - t0 });
      emit({ stage: name, kind: 'reused', message: 'reused (inputs unchanged)' });
      return prev;
    }
    emit({ stage: name, kind: 'start' });
    const output = await exec();
    const rec: StageRecord = { stage: name, digest, createdAt: new Date().toISOString(), output };
    await store.put(rec);
    digests[name] = digest;
    const ms = Date.now() - t0;
    timings.push({ stage: name, outcome: 'built', ms });
    emit({ stage: name, kind: 'done', elapsedMs: ms });
    return rec;
  };
  const imageValid = async (r: StageRecord) => !!r.output.image && (await imageId(r.output.image)) !== null;

  const onAbort = () => emit({ stage: current, kind: 'warning', message: 'interrupted: cleaning up' });
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await pingDocker();
    // Leftovers of killed runs (containers, untagged images, temp files), by their lease: never a live run's.
    const swept = sweepSummary(
      await sweepLeftovers({ folders: buildScratchFolders(cacheDir), docker: true }),
    );
    if (swept) emit({ stage: 'build', kind: 'info', message: swept });

    current = 'rootfs';
    const skipRootfs = settings.skipMultistrap || settings.skipMultiRole;
    // Downloaded before the digest is taken: the keys' bytes are an input of the bootstrap.
    const keyrings = skipRootfs
      ? new Map()
      : await fetchKeyrings({
          repos: config.multistrap.repos,
          proxy: settings.proxy,
          noProxy: settings.noProxy,
          cacheDir,
          logFile,
          ...(signal ? { signal } : {}),
          onInfo: (message) => emit({ stage: 'rootfs', kind: 'info', message }),
        });
    const rootfsDigest = digestOf(rootfsDigestInput(config.multistrap, keyrings));
    const rootfs = await stageRun(
      'rootfs',
      rootfsDigest,
      skipRootfs,
      async (r) => (await stat(r.output.tar ?? '').catch(() => null))?.isFile() === true,
      async () =>
        rootfsStage({
          multistrap: config.multistrap,
          manifestsDir: config.manifestsDir,
          proxy: settings.proxy,
          noProxy: settings.noProxy,
          cacheDir,
          digest: rootfsDigest,
          keyrings,
          logFile,
          ...(signal ? { signal } : {}),
          onInfo: (message) => emit({ stage: 'rootfs', kind: 'info', message }),
        }),
    );

    const imageDigest = digestOf({ v: 1, rootfs: rootfs.digest });
    const base = await stageRun('image', imageDigest, settings.skipMultiRole, imageValid, async () =>
      imageStage({
        tar: rootfs.output.tar ?? '',
        labels: { 'airship-image-builder.stage': 'image' },
        digest: imageDigest,
        ...(signal ? { signal } : {}),
      }),
    );

    const osconfigDigest = digestOf({
      v: 1,
      image: base.digest,
      vars: redactSecrets(config).osconfig,
      // Secrets (password hashes, keys in files) change the result but must not be readable from the digest
      // input on disk: only their digest goes in.
      secrets: digestOf(secretStrings(config.osconfig)),
      role: await roleDigest(),
    });
    const configured = await stageRun(
      'osconfig',
      osconfigDigest,
      settings.skipOsconfigRole,
      imageValid,
      async () => {
        const { image } = await applyOsconfig({
          image: base.output.image ?? '',
          vars: config.osconfig,
          runContext: 'common',
          proxy: settings.proxy,
          noProxy: settings.noProxy,
          session,
          logFile,
          ...(signal ? { signal } : {}),
        });
        await tagImage(image, stageTag('osconfig', osconfigDigest));
        return { image };
      },
    );

    const redacted = redactSecrets(config);
    const configDigest = digestOf({
      multistrap: redacted.multistrap,
      osconfig: redacted.osconfig,
      livecdcontent: redacted.livecdcontent,
    });
    const labels: Record<string, string> = {
      // Not the reference: the same content under another tag is reused, and tagging happens after the stage.
      'org.opencontainers.image.title': `airship-image-builder base image (${settings.distro})`,
      'org.opencontainers.image.source': 'airship-image-builder',
      'org.opencontainers.image.revision': process.env.IMAGE_BUILDER_REVISION ?? (await packageVersion()),
      'airship-image-builder.config-digest': `sha256:${configDigest}`,
    };
    const livecdDigest = digestOf({
      v: 2,
      osconfig: configured.digest,
      vars: config.livecdcontent,
      boot: [embeddedGrubCfg(), liveGrubCfg(config.livecdcontent.grub_menu_timeout)],
      labels,
    });
    const final = await stageRun(
      'livecd',
      livecdDigest,
      settings.skipLivecdcontentRole,
      imageValid,
      async () =>
        livecdStage({
          image: configured.output.image ?? '',
          vars: config.livecdcontent,
          digest: livecdDigest,
          cacheDir,
          session,
          changes: labelChanges({ ...labels, 'org.opencontainers.image.created': new Date().toISOString() }),
          squash: squashTar,
          logFile,
          ...(signal ? { signal } : {}),
          onInfo: (message) => emit({ stage: 'livecd', kind: 'info', message }),
        }),
    );

    current = 'build';
    const id = final.output.image ?? '';
    await tagImage(id, imageRef);
    if (settings.pushImage) {
      emit({ stage: 'push', kind: 'start', message: imageRef });
      await pushImage(imageRef, signal);
      emit({ stage: 'push', kind: 'done' });
    }
    return { imageRef, imageId: id, digests, configDigest, timings, logFile };
  } catch (err) {
    return fail(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // A container of this session can only survive here if removal itself failed mid-way; try once more.
    for (const c of await listSessionContainers().catch(() => []))
      if (c.session === session) await removeContainer(c.id).catch(() => undefined);
  }
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

async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(
      await readFile(join(bundledPlaybook('osconfig.yaml'), '..', '..', 'package.json'), 'utf8'),
    ) as {
      version?: string;
    };
    return `v${pkg.version ?? '0.0.0'}`;
  } catch {
    return 'unknown';
  }
}
