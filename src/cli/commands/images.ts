import type { Command } from 'commander';
import { images } from '../../api.js';
import { printProgress } from '../print-progress.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';
import { bundleGiven } from './package-qcow.js';

/** `images`: the original's Make target of that name (build, ISO, every bundle packaged). */
export function registerImages(program: Command): void {
  const cmd = program
    .command('images')
    .description(
      'Build the image, cut the ephemeral ISO, then cut and package every bundle folder (the original `make images`, without its final clean).',
    );
  addSettingOptions(cmd, 'images').action(
    action(async (signal, opts: Record<string, unknown>) => {
      const r = await images({
        settings: settingsFrom(opts),
        everyBundleFolder: !bundleGiven(opts),
        signal,
        onProgress: printProgress,
      });
      process.stdout.write(`${r.build.imageRef} ${r.build.imageId}\n`);
      for (const a of r.iso) process.stdout.write(`${a.file}\n`);
      for (const b of r.bundles)
        process.stdout.write(`${b.imageRef} ${b.imageId}${b.pushed ? ' pushed' : ''}\n`);
    }),
  );
}
