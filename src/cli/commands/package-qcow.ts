import type { Command } from 'commander';
import { packageQcow } from '../../api.js';
import { printProgress } from '../print-progress.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerPackageQcow(program: Command): void {
  const cmd = program
    .command('package-qcow')
    .description("Package each bundle's QCOW2s, md5sums and profiles into a container image.");
  addSettingOptions(cmd, 'package-qcow').action(
    action(async (signal, opts: Record<string, unknown>) => {
      const r = await packageQcow({ settings: settingsFrom(opts), signal, onProgress: printProgress });
      process.stdout.write(`${r.imageRef} ${r.imageId}\n`);
    }),
  );
}
