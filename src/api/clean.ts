/**
 * `clean`, the original's Make target: removes what this configuration made — its ISO and QCOW2 artifacts
 * (with md5sums and profiles) in OUT_DIR, the built image and the bundle images of its bundle folders when
 * their labels show this tool made them, the cut cache's trees and layers of its image reference, and whatever dead runs left (containers, temp files, scratch
 * folders, by their lease). Nothing else: an image under the same reference without our labels, another
 * configuration's artifacts, live runs' containers and the shared stage cache are kept.
 */
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultSettings, qcowImageReference } from '../config/settings.js';
import { inspectImage, removeImage } from '../engine/container-io.js';
import { CutCache } from '../stages/cut-cache.js';
import { memoryCutRoot, notPrivate } from '../stages/cut-place.js';
import { sweepLeftovers } from '../stages/reaper.js';
import type { CommonOptions } from './common.js';
import { resolveConfig } from './config.js';
import { BASE_IMAGE_LABEL, withEveryBundleFolder } from './package-qcow.js';

/** Label every image our build makes carries (src/api/build.ts). */
const BUILT_LABEL = 'airship-image-builder.config-digest';

export interface CleanOptions extends CommonOptions {
  /** See {@link PackageQcowOptions.everyBundleFolder}. */
  everyBundleFolder?: boolean;
}

export interface CleanResult {
  files: string[];
  images: string[];
  /** Images under our references that we did not make, left alone. */
  kept: string[];
  leftovers: number;
  /** Cut cache entries (unpacked trees, osconfig layers) of this configuration's image reference removed. */
  cached: number;
}

async function removeFiles(paths: readonly string[]): Promise<string[]> {
  const gone: string[] = [];
  for (const p of paths) {
    const existed = await rm(p).then(
      () => true,
      () => false,
    );
    if (existed) gone.push(p);
  }
  return gone;
}

/**
 * Removes this configuration's artifacts, images and dead runs' leftovers.
 * @throws ConfigError for invalid settings; BuildError when Docker cannot be asked.
 */
export async function clean(opts: CleanOptions = {}): Promise<CleanResult> {
  const settings = await withEveryBundleFolder(
    { ...defaultSettings(), ...opts.settings },
    opts.everyBundleFolder ?? false,
  );
  const { config } = await resolveConfig(settings);
  const outDir = resolve(settings.outDir);
  const iso = join(outDir, config.iso.img_name);
  const paths = [iso, `${iso}.md5sum`, iso.replace(/\.iso$/, '.json')];
  const subs = new Set<string>();
  for (const b of config.qcowBundles) {
    const dir = join(outDir, b.outSub ?? '');
    if (b.outSub) subs.add(dir);
    paths.push(...['.qcow2', '.qcow2.md5sum', '.json'].map((ext) => join(dir, `${b.name}${ext}`)));
  }
  const files = await removeFiles(paths);
  // A bundle's sub-folder goes when it is empty; anything else in it is not ours to judge.
  for (const d of subs)
    if ((await readdir(d).catch(() => ['?'])).length === 0) await rmdir(d).catch(() => undefined);

  const images: string[] = [];
  const kept: string[] = [];
  const folders = [...new Set(config.qcowBundles.map((b) => b.folder ?? settings.qcowBundle))];
  for (const folder of folders) {
    const ref = qcowImageReference(settings, folder);
    const facts = await inspectImage(ref);
    if (!facts) continue;
    if (facts.labels[BASE_IMAGE_LABEL] === config.imageRef) {
      await removeImage(ref);
      images.push(ref);
    } else kept.push(ref);
  }
  const base = await inspectImage(config.imageRef);
  if (base?.labels[BUILT_LABEL]) {
    await removeImage(config.imageRef);
    images.push(config.imageRef);
  } else if (base) kept.push(config.imageRef);

  // Every place a cut of this machine may have worked: the cache folder, memory, and CUT_DIR when set.
  const roots = new Set([resolve(settings.cacheDir)]);
  // Never one that someone else planted in /dev/shm.
  const memory = memoryCutRoot();
  if (!(await notPrivate(memory))) roots.add(memory);
  if (settings.cutDir !== 'auto') roots.add(resolve(settings.cutDir));
  let cached = 0;
  const sweep = [outDir];
  for (const root of roots) {
    const cache = new CutCache(root);
    cached += await cache.dropStale(config.imageRef, null);
    sweep.push(root, join(root, 'cut'), ...cache.folders());
  }
  const swept = await sweepLeftovers({ folders: sweep, docker: true });
  const leftovers = swept.paths.length + swept.containers + swept.images;
  opts.onProgress?.({
    stage: 'clean',
    kind: 'done',
    message: `${files.length} file(s), ${images.length} image(s), ${leftovers} leftover(s), ${cached} cut cache entr${cached === 1 ? 'y' : 'ies'} removed`,
  });
  return { files, images, kept, leftovers, cached };
}
