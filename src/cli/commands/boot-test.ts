import type { Command } from 'commander';
import { bootTest } from '../../api.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerBootTest(program: Command): void {
  const cmd = program
    .command('boot-test')
    .description(
      'Boot an ISO or QCOW2 in qemu (KVM when it works, TCG otherwise) and wait for a login prompt.',
    )
    .argument('<artifact>', 'ISO or QCOW2 file to boot');
  addSettingOptions(cmd, 'boot-test').action(
    action(async (_artifact: string, opts: Record<string, unknown>) => {
      await bootTest({ settings: settingsFrom(opts) });
    }),
  );
}
