import type { Command } from 'commander';
import { clean } from '../../api.js';
import { printProgress } from '../print-progress.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';
import { bundleGiven } from './package-qcow.js';

/** `clean`: the original's Make target, limited to what this configuration made (see src/api/clean.ts). */
export function registerClean(program: Command): void {
  const cmd = program
    .command('clean')
    .description(
      "Remove this configuration's ISO and QCOW2 artifacts, its built and bundle images (only those this tool made), and dead runs' leftovers.",
    );
  addSettingOptions(cmd, 'clean').action(
    action(async (signal, opts: Record<string, unknown>) => {
      void signal;
      const r = await clean({
        settings: settingsFrom(opts),
        everyBundleFolder: !bundleGiven(opts),
        onProgress: printProgress,
      });
      for (const f of r.files) process.stdout.write(`removed ${f}\n`);
      for (const i of r.images) process.stdout.write(`removed image ${i}\n`);
      for (const i of r.kept) process.stdout.write(`kept image ${i} (not made by image-builder)\n`);
    }),
  );
}
