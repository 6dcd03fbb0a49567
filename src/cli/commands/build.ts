import type { Command } from 'commander';
import { build } from '../../api.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerBuild(program: Command): void {
  const cmd = program
    .command('build')
    .description(
      'Build the base container image: rootfs (mmdebstrap), image import, osconfig (Ansible), live-CD content (squashfs, kernel, grub).',
    );
  addSettingOptions(cmd, 'build').action(
    action(async (opts: Record<string, unknown>) => {
      await build({ settings: settingsFrom(opts) });
    }),
  );
}
