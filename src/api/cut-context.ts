/**
 * What the steps of one `cut-image` run share (src/api/cut-image.ts for the ISO, src/api/cut-qcow.ts for the
 * bundles): the context, the boot-test step, the sidecars and the SOURCE_DATE_EPOCH of the cut.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Settings } from '../config/settings.js';
import type { BuildConfig, QcowBundle } from '../config/types.js';
import type { ImageFacts } from '../engine/container-io.js';
import { envSourceDateEpoch } from '../source-date-epoch.js';
import { md5File, writeSidecars } from '../stages/artifact.js';
import { bootTestArtifact } from '../stages/boot.js';
import type { CutPlace } from '../stages/cut-place.js';
import type { StepRunner } from '../stages/steps.js';
import type { CutImageOptions } from './cut-image.js';
import { toolVersion } from './tool-version.js';

/** What the steps of one cut share. */
export interface CutContext {
  opts: CutImageOptions;
  settings: Settings;
  config: BuildConfig;
  image: ImageFacts;
  outDir: string;
  /** Where the cut works and keeps its cut cache (in memory or on disk). */
  place: CutPlace;
  /** `<place.root>/cut`. */
  scratch: string;
  logDir: string;
  session: string;
  runner: StepRunner;
}

/** The boot test of one artifact as a step (none when BOOT_TIMEOUT=0); each firmware reports on its own. */
export async function bootStep(ctx: CutContext, file: string, kind: 'iso' | 'qcow', hostname: string) {
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

/** A bundle's name made unique across bundle folders (`qcow-bundle-x-control-plane` when several are cut). */
export function bundleTag(bundle: QcowBundle): string {
  return bundle.outSub ? `${bundle.outSub.replace(/\//g, '-')}-${bundle.name}` : bundle.name;
}

/** SOURCE_DATE_EPOCH when set, else the image's creation time. @throws UsageError when it is malformed */
export function sourceDateEpoch(image: ImageFacts): number {
  const env = envSourceDateEpoch();
  if (env !== undefined) return env;
  const t = Date.parse(image.created);
  return Number.isFinite(t) && t > 0 ? Math.floor(t / 1000) : 0;
}

/** Writes the md5sum and JSON profile beside `file`. */
export async function sidecars(
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
