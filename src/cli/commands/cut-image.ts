import type { Command } from 'commander';
import { cutImage } from '../../api.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerCutImage(program: Command): void {
  const cmd = program
    .command('cut-image')
    .description(
      'Cut an ephemeral ISO or the QCOW2s of a bundle from the built image, then boot-test them unless BOOT_TIMEOUT=0.',
    );
  addSettingOptions(cmd, 'cut-image').action(
    action(async (opts: Record<string, unknown>) => {
      await cutImage({ settings: settingsFrom(opts) });
    }),
  );
}
