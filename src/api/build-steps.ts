/**
 * The steps of `build`, in order: rootfs → image → osconfig → livecd → tag (→ push). Each of the four stages
 * is reused when the digest of its inputs is unchanged, or skipped by its SKIP_* setting (reusing its last
 * result); the step runner (src/stages/steps.ts) times, logs and reports them.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { redactSecrets, secretStrings } from '../config/redact.js';
import type { Settings } from '../config/settings.js';
import type { BuildConfig } from '../config/types.js';
import { imageId, labelChanges, pushImage, STAGE_LABEL, tagImage } from '../engine/docker.js';
import { BuildError } from '../errors.js';
import type { ProgressListener } from '../progress.js';
import { epochOption } from '../source-date-epoch.js';
import { imageStage, stageTag } from '../stages/image.js';
import { type FetchedKeyring, fetchKeyrings } from '../stages/keyrings.js';
import { embeddedGrubCfg, livecdStage, liveGrubCfg, type SquashTar } from '../stages/livecd.js';
import { applyOsconfig } from '../stages/osconfig.js';
import { bundledPlaybook } from '../stages/playbook-path.js';
import { rootfsDigestInput, rootfsStage } from '../stages/rootfs.js';
import type { CacheHit, Step } from '../stages/steps.js';
import { digestOf, type StageName, type StageRecord, type StageStore } from '../stages/store.js';
import { squash } from './squash.js';

/** What the steps of one build share: inputs, and the stage records and digests as they are made. */
export interface BuildContext {
  config: BuildConfig;
  settings: Settings;
  cacheDir: string;
  logFile: string;
  session: string;
  imageRef: string;
  store: StageStore;
  signal?: AbortSignal;
  emit: ProgressListener;
  /** Input digests of the stage results used, filled in as the stages run. */
  digests: Partial<Record<StageName, string>>;
  records: Partial<Record<StageName, StageRecord>>;
  /** Digest of the redacted configuration (set by the osconfig step's successor, read by `livecd`). */
  configDigest: string;
  /** The final image id, set by the livecd step. */
  imageId: string;
  /** Repository keys downloaded by `keyring_url`, by repo name (set when the rootfs digest is taken). */
  keyrings?: ReadonlyMap<string, FetchedKeyring>;
}

const SKIP_SETTING: Record<StageName, string> = {
  rootfs: 'SKIP_MULTISTRAP',
  image: 'SKIP_MULTI_ROLE',
  osconfig: 'SKIP_OSCONFIG_ROLE',
  livecd: 'SKIP_LIVECDCONTENT_ROLE',
};

/** One of the four cached stages: how its digest is made, when it is skipped, how its result is checked. */
interface StageDef {
  name: StageName;
  skip: (s: Settings) => boolean;
  digest: (ctx: BuildContext) => Promise<string>;
  valid: (r: StageRecord) => Promise<boolean>;
  exec: (ctx: BuildContext, digest: string) => Promise<StageRecord['output']>;
}

const imageValid = async (r: StageRecord) => !!r.output.image && (await imageId(r.output.image)) !== null;

/** The output of a stage that ran or was reused before `name` (its input). */
function input(ctx: BuildContext, name: StageName): StageRecord {
  const r = ctx.records[name];
  if (!r) throw new BuildError(`the ${name} stage has no result`, { stage: name });
  return r;
}

/**
 * A stage's digest: its format version `v`, the digest of the stage it builds on, and what else its result
 * depends on (canonical JSON: key order does not matter).
 */
function digestAfter(
  prev: StageName,
  v: number,
  more: (ctx: BuildContext) => Promise<Record<string, unknown>> = async () => ({}),
): (ctx: BuildContext) => Promise<string> {
  return async (ctx) => digestOf({ v, [prev]: input(ctx, prev).digest, ...(await more(ctx)) });
}

/** A cached stage as a step: the cache (or SKIP_* setting) is looked up first, the stage runs on a miss. */
function stageStep(def: StageDef): Step<BuildContext> {
  const digests = new WeakMap<BuildContext, string>();
  const use = (ctx: BuildContext, rec: StageRecord) => {
    ctx.records[def.name] = rec;
    ctx.digests[def.name] = rec.digest;
  };
  return {
    name: def.name,
    cached: async (ctx): Promise<CacheHit | null> => {
      if (def.skip(ctx.settings)) {
        const rec = await ctx.store.latest(def.name);
        if (!rec || !(await def.valid(rec)))
          throw new BuildError(
            `${SKIP_SETTING[def.name]} is set but there is no previous ${def.name} result to reuse`,
          );
        use(ctx, rec);
        return {
          outcome: 'skipped',
          message: `skipped (${SKIP_SETTING[def.name]}): reusing previous result`,
        };
      }
      const digest = await def.digest(ctx);
      digests.set(ctx, digest);
      const prev = await ctx.store.get(def.name, digest);
      if (!prev || !(await def.valid(prev))) return null;
      use(ctx, prev);
      return { outcome: 'reused', message: 'reused (inputs unchanged)' };
    },
    run: async (ctx) => {
      const digest = digests.get(ctx) ?? (await def.digest(ctx));
      const output = await def.exec(ctx, digest);
      const rec: StageRecord = { stage: def.name, digest, createdAt: new Date().toISOString(), output };
      await ctx.store.put(rec);
      use(ctx, rec);
    },
  };
}

const onSignal = (ctx: BuildContext) => (ctx.signal ? { signal: ctx.signal } : {});

const rootfs: StageDef = {
  name: 'rootfs',
  skip: (s) => s.skipMultistrap || s.skipMultiRole,
  // Keys are downloaded before the digest is taken: their bytes are an input of the bootstrap.
  digest: async (ctx) => {
    ctx.keyrings = await fetchKeyrings({
      repos: ctx.config.multistrap.repos,
      proxy: ctx.settings.proxy,
      noProxy: ctx.settings.noProxy,
      cacheDir: ctx.cacheDir,
      logFile: ctx.logFile,
      ...onSignal(ctx),
      onInfo: (message) => ctx.emit({ stage: 'rootfs', kind: 'info', message }),
    });
    // SOURCE_DATE_EPOCH is an input of every stage (bootstrap, role, squashfs bytes); absent when unset, so
    // the digests of builds without one stay what they were.
    return digestOf({ ...rootfsDigestInput(ctx.config.multistrap, ctx.keyrings), ...epochOption() });
  },
  valid: async (r) => (await stat(r.output.tar ?? '').catch(() => null))?.isFile() === true,
  exec: (ctx, digest) =>
    rootfsStage({
      multistrap: ctx.config.multistrap,
      manifestsDir: ctx.config.manifestsDir,
      proxy: ctx.settings.proxy,
      noProxy: ctx.settings.noProxy,
      cacheDir: ctx.cacheDir,
      digest,
      logFile: ctx.logFile,
      ...(ctx.keyrings ? { keyrings: ctx.keyrings } : {}),
      ...onSignal(ctx),
      onInfo: (message) => ctx.emit({ stage: 'rootfs', kind: 'info', message }),
    }),
};

const image: StageDef = {
  name: 'image',
  skip: (s) => s.skipMultiRole,
  digest: digestAfter('rootfs', 1),
  valid: imageValid,
  exec: (ctx, digest) =>
    imageStage({
      tar: input(ctx, 'rootfs').output.tar ?? '',
      labels: { [STAGE_LABEL]: 'image' },
      digest,
      ...onSignal(ctx),
    }),
};

const osconfig: StageDef = {
  name: 'osconfig',
  skip: (s) => s.skipOsconfigRole,
  digest: digestAfter('image', 1, async (ctx) => ({
    vars: redactSecrets(ctx.config).osconfig,
    // Secrets (password hashes, keys in files) change the result but must not be readable from the digest
    // input on disk: only their digest goes in.
    secrets: digestOf(secretStrings(ctx.config.osconfig)),
    role: await roleDigest(),
    ...epochOption(),
  })),
  valid: imageValid,
  exec: async (ctx, digest) => {
    const { image } = await applyOsconfig({
      image: input(ctx, 'image').output.image ?? '',
      vars: ctx.config.osconfig,
      runContext: 'common',
      proxy: ctx.settings.proxy,
      noProxy: ctx.settings.noProxy,
      session: ctx.session,
      logFile: ctx.logFile,
      ...onSignal(ctx),
      ...epochOption(),
    });
    await tagImage(image, stageTag('osconfig', digest));
    return { image };
  },
};

/** The final image's labels; not the reference: the same content under another tag is reused. */
async function finalLabels(ctx: BuildContext): Promise<Record<string, string>> {
  return {
    'org.opencontainers.image.title': `airship-image-builder base image (${ctx.settings.distro})`,
    'org.opencontainers.image.source': 'airship-image-builder',
    'org.opencontainers.image.revision': process.env.IMAGE_BUILDER_REVISION ?? (await packageVersion()),
    'airship-image-builder.config-digest': `sha256:${ctx.configDigest}`,
  };
}

const livecd: StageDef = {
  name: 'livecd',
  skip: (s) => s.skipLivecdcontentRole,
  // 3: GRUB images by grub-mkimage, every module built in (reproducible).
  digest: digestAfter('osconfig', 3, async (ctx) => ({
    vars: ctx.config.livecdcontent,
    boot: [embeddedGrubCfg(), liveGrubCfg(ctx.config.livecdcontent.grub_menu_timeout)],
    labels: await finalLabels(ctx),
    ...epochOption(),
  })),
  valid: imageValid,
  exec: async (ctx, digest) =>
    livecdStage({
      image: input(ctx, 'osconfig').output.image ?? '',
      vars: ctx.config.livecdcontent,
      digest,
      cacheDir: ctx.cacheDir,
      session: ctx.session,
      changes: labelChanges({
        ...(await finalLabels(ctx)),
        'org.opencontainers.image.created': new Date().toISOString(),
      }),
      squash: squashTar(ctx),
      logFile: ctx.logFile,
      ...onSignal(ctx),
      onInfo: (message) => ctx.emit({ stage: 'livecd', kind: 'info', message }),
    }),
};

/** Tags the final image with the reference: only reached when every stage succeeded. */
const tag: Step<BuildContext> = {
  name: 'tag',
  describe: (ctx) => ctx.imageRef,
  run: async (ctx) => {
    ctx.imageId = input(ctx, 'livecd').output.image ?? '';
    await tagImage(ctx.imageId, ctx.imageRef);
  },
};

const push: Step<BuildContext> = {
  name: 'push',
  describe: (ctx) => ctx.imageRef,
  run: (ctx) => pushImage(ctx.imageRef, ctx.signal),
};

/** The steps of a build with these settings. */
export function buildSteps(settings: Settings): Step<BuildContext>[] {
  return [...[rootfs, image, osconfig, livecd].map(stageStep), tag, ...(settings.pushImage ? [push] : [])];
}

/** Names of the steps whose timings {@link BuildResult.timings} reports (the cached stages). */
export const STAGE_NAMES: readonly StageName[] = ['rootfs', 'image', 'osconfig', 'livecd'];

/** The folders where a build keeps temp files and scratch folders (swept at the start of every build). */
export function buildScratchFolders(cacheDir: string): string[] {
  return [
    cacheDir,
    join(cacheDir, 'rootfs'),
    join(cacheDir, 'keyrings'),
    join(cacheDir, 'livecd'),
    ...STAGE_NAMES.map((s) => join(cacheDir, 'stages', s)),
  ];
}

/** Digest of every file of the bundled osconfig role: a changed role re-runs the stage (and a QCOW cut its layer). */
export async function roleDigest(): Promise<string> {
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

/**
 * The live root's squashfs, written by the native writer straight from the export stream; its byte counts
 * and warnings are reported as the livecd step's (`squashfs data`, …).
 */
const squashTar =
  (ctx: BuildContext): SquashTar =>
  async (tar, out, o) => {
    await squash({
      onProgress: (e) => {
        if (e.kind === 'progress')
          ctx.emit({ ...e, stage: 'livecd', message: `squashfs ${e.message ?? ''}`.trim() });
        else if (e.kind === 'warning') ctx.emit({ ...e, stage: 'livecd' });
      },
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
