import type { Command } from 'commander';
import { doctor } from '../../api.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerDoctor(program: Command): void {
  const cmd = program
    .command('doctor')
    .description(
      'Check CPU flags, compressor throughput and the tools the other commands need; advise host-passthrough when flags are hidden.',
    );
  addSettingOptions(cmd, 'doctor').action(
    action(async (opts: Record<string, unknown>) => {
      await doctor({ settings: settingsFrom(opts) });
    }),
  );
}
