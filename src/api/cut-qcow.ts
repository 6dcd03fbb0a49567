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
import { FillBases } from '../stages/fill-bases.js';
import { SharedGrubImages } from '../stages/grub-images.js';
import { inLanes, oneAtATime } from '../stages/lanes.js';
import { type OsconfigLayer, osconfigLayers } from '../stages/osconfig.js';
import { Batch, type RunAll } from '../stages/osconfig-batch.js';
import { cutQcow, extractRootfs } from '../stages/qcow.js';
import { WrittenImages } from '../stages/qcow-convert.js';
import { type DiskPlan, planDisk } from '../stages/qcow-layout.js';
import { digestOf as hexDigest } from '../stages/store.js';
import { roleDigest } from './build-steps.js';
import { bootStep, bundleTag, type CutContext, sidecars, sourceDateEpoch } from './cut-context.js';
import type { CutArtifact, QcowOsconfig } from './cut-image.js';

/** A bundle's layer to make: its config and where its tars go. */
interface LayerRequest {
  bundle: QcowBundle;
  out: string;
}

/**
 * The default qcow osconfig: our role with run_context `qcow` and each bundle's vars, kept as a layer; every
 * bundle of the batch in one ansible-playbook (its containers side by side, one start-up, one log).
 */
function qcowOsconfigs(ctx: CutContext): RunAll<LayerRequest, OsconfigLayer> {
  const { settings, opts } = ctx;
  return async (reqs, early) => {
    const logDir = join(resolve(settings.cacheDir), 'logs');
    await mkdir(logDir, { recursive: true, mode: 0o700 });
    const logFile = join(logDir, `osconfig-qcow-${process.pid}.log`);
    return osconfigLayers(
      reqs.map(({ bundle, out }) => ({
        input: {
          image: ctx.config.imageRef,
          vars: bundle.osconfig,
          runContext: 'qcow' as const,
          proxy: settings.proxy,
          noProxy: settings.noProxy,
          session: ctx.session,
          logFile,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        out,
      })),
      early,
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

/** How a cut makes the layers the cut cache lacks: ours in one batch, a caller's own one at a time. */
type LayerMaker =
  | { batch: Batch<LayerRequest, OsconfigLayer>; role: Promise<string> }
  | { own: QcowOsconfig; gate: ReturnType<typeof oneAtATime> };

/**
 * The bundle's osconfig layer: from the cut cache when our role ran with the same image, vars, proxy and role
 * files before; otherwise made now (see {@link LayerMaker}) and kept. A caller's own osconfig (tests,
 * benchmarks) is never cached.
 */
async function bundleLayer(
  ctx: CutContext,
  cache: CutCache,
  bundle: QcowBundle,
  work: string,
  maker: LayerMaker,
): Promise<OsconfigLayer & { reused: boolean }> {
  const { opts, settings, config } = ctx;
  if ('own' in maker) {
    const { own, gate } = maker;
    const layer = await gate(() => own(config.imageRef, bundle, join(work, 'layer'), opts.signal));
    return { ...layer, reused: false };
  }
  let joined = false;
  try {
    const key = hexDigest({
      v: 1,
      image: ctx.image.id,
      vars: bundle.osconfig,
      role: await maker.role,
      proxy: settings.proxy,
      noProxy: settings.noProxy,
    });
    return await cache.layer({ id: ctx.image.id, ref: config.imageRef }, key, (out) => {
      joined = true;
      return maker.batch.join({ bundle, out });
    });
  } finally {
    if (!joined) maker.batch.leave();
  }
}

/** Step `qcow:<bundle>`: its layer (being made), then (once the tree is there) the cut and its sidecars. */
async function cutBundle(
  ctx: CutContext,
  tree: Promise<UnpackedTree>,
  { bundle, plan }: { bundle: QcowBundle; plan: DiskPlan },
  made: Promise<OsconfigLayer & { reused: boolean }>,
  shared: { written: WrittenImages; grub: Promise<SharedGrubImages>; fillBases: FillBases },
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
      const layer = made.then((l) => {
        if (l.reused) h.info('osconfig layer reused from an earlier cut of this image and bundle config');
        return l;
      });
      layer.catch(() => undefined);
      // A failed layer fails the step at once; a failed tree only once the layer's container is gone.
      const base = await Promise.race([tree, layer.then(() => tree)]).catch(async (err: unknown) => {
        await layer.catch(() => undefined);
        throw err;
      });
      const grub = await shared.grub;
      await cutQcow({
        bundle,
        plan,
        rootfs: { tree: base.tree, stateFile: base.stateFile, layer },
        outFile: file,
        scratchDir: ctx.scratch,
        sourceDateEpoch: epoch,
        parallelConvert: opts.parallelConvert ?? true,
        written: shared.written,
        grub,
        fillBases: shared.fillBases,
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
  // Every bundle's layer is begun now, whichever lane cuts it: ours in one ansible-playbook for all bundles the
  // cache lacks (its start-up, a second of CPU, once); a caller's own one at a time (two side by side beside
  // the export starve each other).
  const maker: LayerMaker = opts.osconfig
    ? { own: opts.osconfig, gate: oneAtATime() }
    : // The role's files are read once for every bundle's cache key.
      { batch: new Batch(plans.length, qcowOsconfigs(ctx)), role: roleDigest() };
  const layers = plans.map((p) => {
    const l = bundleLayer(ctx, cache, p.bundle, join(work, `layer-${bundleTag(p.bundle)}`), maker);
    l.catch(() => undefined);
    return l;
  });
  // Bundles of the same layout share most of their disk: a later one copies the clusters an earlier one wrote.
  const written = new WrittenImages();
  // So do their root filesystems: a later one's fill skips what an earlier one copied to the same place.
  const fillBases = new FillBases();
  // And GRUB's images, made once from the tree as soon as it is there.
  const grub = tree.then(
    (t) =>
      new SharedGrubImages(t.tree, join(work, 'grub'), {
        logFile: join(ctx.logDir, 'cut-grub.log'),
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
  );
  grub.catch(() => undefined);
  let results: CutArtifact[];
  try {
    // Every cut settles before a failure is reported, so no container outlives the call.
    results = await inLanes(
      plans.map((p, i) => ({ p, layer: layers[i] as (typeof layers)[number] })),
      opts.concurrency ?? 2,
      ({ p, layer }) => cutBundle(ctx, tree, p, layer, { written, grub, fillBases }),
    );
  } finally {
    // A bundle may fail before it waits for the tree or its layer: the export and every layer settle too (temp
    // folders removed or placed, containers gone).
    await tree.catch(() => undefined);
    await Promise.allSettled(layers);
    // A layer is handed over before its container is gone: the cut returns only after.
    if ('batch' in maker) await maker.batch.idle();
    await (await grub.catch(() => undefined))?.settled();
    written.close();
    fillBases.close();
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
