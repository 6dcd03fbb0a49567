import type { Command } from 'commander';
import { squash } from '../../api.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerSquash(program: Command): void {
  const cmd = program
    .command('squash')
    .description(
      'Write a SquashFS image from a directory or a tar stream (`-` reads stdin) with the native writer.',
    )
    .argument('<src>', 'directory, or - for a tar stream on stdin')
    .argument('<out>', 'SquashFS file to write');
  addSettingOptions(cmd, 'squash').action(
    action(async (_src: string, _out: string, opts: Record<string, unknown>) => {
      await squash({ settings: settingsFrom(opts) });
    }),
  );
}
