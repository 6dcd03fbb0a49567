/**
 * The QCOW part of `cut-image`: the image's tree (step `extract`, or reused from the cut cache) and, at the same
 * time, each bundle's qcow osconfig layer (reused when the same image and bundle config ran before), and one
 * step `qcow:<bundle>` per bundle cutting from a hard-linked copy of that tree with its layer (the copy and the
 * disk's layout are made while the layer still is), then one
 * `boot:<file>` step per artifact.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Settings } from '../config/settings.js';
import type { BuildConfig, QcowBundle } from '../config/types.js';
import { CUT_LABEL } from '../engine/container-io.js';
import { SESSION_LABEL } from '../engine/docker.js';
import { ConfigError, type Diagnostic } from '../errors.js';
import { digestOf } from '../stages/artifact.js';
import { seedHostname } from '../stages/boot.js';
import { CutCache, type UnpackedTree } from '../stages/cut-cache.js';
import { inLanes, oneAtATime } from '../stages/lanes.js';
import { type OsconfigLayer, osconfigLayer } from '../stages/osconfig.js';
import { cutQcow, extractRootfs } from '../stages/qcow.js';
import { WrittenImages } from '../stages/qcow-convert.js';
import { type DiskPlan, planDisk } from '../stages/qcow-layout.js';
import type { StepHandle } from '../stages/steps.js';
import { digestOf as hexDigest } from '../stages/store.js';
import { roleDigest } from './build-steps.js';
import { bootStep, bundleTag, type CutContext, sidecars, sourceDateEpoch } from './cut-context.js';
import type { CutArtifact, QcowOsconfig } from './cut-image.js';

type Gate = ReturnType<typeof oneAtATime>;

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
 * The image's tree for this cut: from the cut cache (recorded as a reused `extract` step), or exported and
 * unpacked once (step `extract`) and kept in the cache.
 */
async function imageTree(ctx: CutContext, cache: CutCache, epoch: number): Promise<UnpackedTree> {
  const image = { id: ctx.image.id, ref: ctx.config.imageRef };
  const t0 = Date.now();
  const hit = await cache.cachedTree(image, epoch);
  if (hit) {
    await ctx.runner.record(
      'extract',
      'reused',
      Date.now() - t0,
      `tree of ${image.id} unpacked by an earlier cut`,
    );
    return hit;
  }
  return ctx.runner.step('extract', (h) =>
    cache.newTree(image, epoch, (dir) =>
      extractRootfs(image.ref, dir, {
        labels: { [CUT_LABEL]: 'qcow', [SESSION_LABEL]: ctx.session },
        onNote: (m) => h.info(m),
        ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}),
      }),
    ),
  );
}

/**
 * The bundle's osconfig layer: from the cut cache when our role ran with the same image, vars, proxy and role
 * files before; otherwise run now and kept. A caller's own osconfig (tests, benchmarks) is never cached.
 */
async function bundleLayer(
  ctx: CutContext,
  cache: CutCache,
  bundle: QcowBundle,
  work: string,
  h: StepHandle,
  gate: Gate,
): Promise<OsconfigLayer> {
  const { opts, settings, config } = ctx;
  // Every osconfig run, ours or the caller's, waits for its turn at the gate.
  const inTurn =
    (osconfig: QcowOsconfig): QcowOsconfig =>
    (...a) => {
      h.progress('wait for osconfig of another bundle');
      return gate(() => {
        h.progress('osconfig');
        return osconfig(...a);
      });
    };
  if (opts.osconfig) return inTurn(opts.osconfig)(config.imageRef, bundle, join(work, 'layer'), opts.signal);
  const run = inTurn(qcowOsconfig(settings, ctx.session));
  const key = hexDigest({
    v: 1,
    image: ctx.image.id,
    vars: bundle.osconfig,
    role: await roleDigest(),
    proxy: settings.proxy,
    noProxy: settings.noProxy,
  });
  const layer = await cache.layer({ id: ctx.image.id, ref: config.imageRef }, key, (prefix) =>
    run(config.imageRef, bundle, prefix, opts.signal),
  );
  if (layer.reused) h.info('osconfig layer reused from an earlier cut of this image and bundle config');
  return layer;
}

/** Step `qcow:<bundle>`: its layer, then (once the tree is there) the cut and its sidecars. */
async function cutBundle(
  ctx: CutContext,
  cache: CutCache,
  tree: Promise<UnpackedTree>,
  { bundle, plan }: { bundle: QcowBundle; plan: DiskPlan },
  work: string,
  gate: Gate,
  written: WrittenImages,
): Promise<CutArtifact> {
  const { config, opts } = ctx;
  const epoch = sourceDateEpoch(ctx.image);
  const file = join(ctx.outDir, bundle.outSub ?? '', `${bundle.name}.qcow2`);
  await mkdir(dirname(file), { recursive: true });
  const t0 = Date.now();
  const side = await ctx.runner.step(
    `qcow:${bundleTag(bundle)}`,
    async (h) => {
      h.progress('osconfig');
      // The cut copies the tree and lays out the disk while the layer is being made.
      const layer = bundleLayer(ctx, cache, bundle, join(work, `layer-${bundleTag(bundle)}`), h, gate);
      layer.catch(() => undefined);
      // A failed layer fails the step at once; a failed tree only once the layer's container is gone.
      const base = await Promise.race([tree, layer.then(() => tree)]).catch(async (err: unknown) => {
        await layer.catch(() => undefined);
        throw err;
      });
      await cutQcow({
        bundle,
        plan,
        rootfs: { tree: base.tree, stateFile: base.stateFile, layer },
        outFile: file,
        scratchDir: ctx.scratch,
        sourceDateEpoch: epoch,
        parallelConvert: opts.parallelConvert ?? true,
        written,
        logFile: join(ctx.logDir, `cut-${bundleTag(bundle)}.log`),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      const digest = digestOf({ osconfig: bundle.osconfig, qcow: bundle.qcow });
      return sidecars(file, 'qcow', config, ctx.image, digest, epoch);
    },
    file,
  );
  return { file, ...side, cutMs: Date.now() - t0, boots: [] };
}

/**
 * The tree (step `extract`) while the bundles' osconfig runs go on, then one step `qcow:<bundle>` per bundle,
 * side by side; then one `boot:<file>` step per artifact. `work` (an empty scratch folder the caller removes)
 * takes layers that are not cached.
 */
export async function cutQcowArtifacts(ctx: CutContext, work: string): Promise<CutArtifact[]> {
  const { config, opts, settings } = ctx;
  const plans = await planBundles(config, settings);
  const cache = new CutCache(ctx.place.root);
  await cache.dropStale(config.imageRef, ctx.image.id);
  // In memory the cut cache keeps this image's tree (and those another cut used in the last 15 minutes).
  if (ctx.place.memory) await cache.dropOtherTrees(ctx.image.id);
  // The export and the osconfig containers need nothing of each other: they run at the same time.
  const tree = imageTree(ctx, cache, sourceDateEpoch(ctx.image));
  tree.catch(() => undefined);
  // One osconfig container at a time: beside the export, two of them starve each other and every bundle waits
  // for the slower (two bundles, 2 cores: both ~20 s, against ~12 s for the first when it runs alone); in turn,
  // the first bundle's filesystems and compression run while the second's osconfig does.
  const gate = oneAtATime();
  // Bundles of the same layout share most of their disk: a later one copies the clusters an earlier one wrote.
  const written = new WrittenImages();
  let results: CutArtifact[];
  try {
    // Every cut settles before a failure is reported, so no container outlives the call.
    results = await inLanes(plans, opts.concurrency ?? 2, (p) =>
      cutBundle(ctx, cache, tree, p, work, gate, written),
    );
  } finally {
    // A bundle may fail before it waits for the tree: the export settles too (its temp folder removed or placed).
    await tree.catch(() => undefined);
    written.close();
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
    // UUIDs and hash seeds from the image alone: bundles of one layout then differ only where their files do
    // (ext4 checksums every metadata block with its UUID), so a later bundle copies nearly every cluster from
    // the first's image instead of compressing it. Every host of a bundle shares them anyway.
    const r = planDisk(b.qcow, config.imageRef, join(b.dir, 'qcow-vars.yaml'));
    if (r.plan) out.push({ bundle: b, plan: r.plan });
    else errors.push(...r.errors);
  }
  if (errors.length) throw new ConfigError(errors);
  return out;
}
