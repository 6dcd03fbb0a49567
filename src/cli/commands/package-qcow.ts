import type { Command } from 'commander';
import { packageQcow } from '../../api.js';
import { printProgress } from '../print-progress.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

/** True when QCOW_BUNDLE was given (flag or env): then only that folder is packaged, not every qcow-bundle*. */
export function bundleGiven(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): boolean {
  return typeof opts.qcowBundle === 'string' || env.QCOW_BUNDLE !== undefined;
}

export function registerPackageQcow(program: Command): void {
  const cmd = program
    .command('package-qcow')
    .description(
      "Cut what is missing, then package each bundle folder's QCOW2s, md5sums and profiles into an image (a KRM function) on top of the built image; push it with PUSH_IMAGE.",
    );
  addSettingOptions(cmd, 'package-qcow').action(
    action(async (signal, opts: Record<string, unknown>) => {
      const out = await packageQcow({
        settings: settingsFrom(opts),
        everyBundleFolder: !bundleGiven(opts),
        signal,
        onProgress: printProgress,
      });
      for (const r of out) process.stdout.write(`${r.imageRef} ${r.imageId}${r.pushed ? ' pushed' : ''}\n`);
    }),
  );
}
