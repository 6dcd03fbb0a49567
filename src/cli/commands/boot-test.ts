/** `image-builder boot-test`: boots an artifact, progress on stderr, one line per firmware on stdout. */
import type { Command } from 'commander';
import { bootTest } from '../../api.js';
import { addProgressOption, withProgress } from '../progress-render.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerBootTest(program: Command): void {
  const cmd = program
    .command('boot-test')
    .description(
      'Boot an ISO or QCOW2 in qemu (KVM when it works, TCG otherwise) and wait for a login prompt.',
    )
    .argument('<artifact>', 'ISO or QCOW2 file to boot')
    .option('--firmware <bios|uefi|both>', 'firmware to boot with', 'both')
    .option(
      '--hostname <NAME>',
      'host name expected in the prompt (default: meta_data hostname for an ISO, the seed name for a QCOW2)',
    )
    .option('--accel <kvm|tcg>', 'skip the KVM probe and use this accelerator');
  addProgressOption(addSettingOptions(cmd, 'boot-test')).action(
    action(async (signal, artifact: string, opts: Record<string, unknown>) => {
      const r = await withProgress(opts, (onProgress) =>
        bootTest({
          artifact,
          settings: settingsFrom(opts),
          firmware: opts.firmware as 'bios' | 'uefi' | 'both',
          signal,
          onProgress,
          ...(typeof opts.hostname === 'string' ? { hostname: opts.hostname } : {}),
          ...(opts.accel === 'kvm' || opts.accel === 'tcg' ? { accel: opts.accel } : {}),
        }),
      );
      if (r.length === 0) process.stdout.write('boot test skipped (BOOT_TIMEOUT=0)\n');
      for (const b of r)
        process.stdout.write(
          `${artifact}: ${b.firmware} login prompt after ${(b.elapsedMs / 1000).toFixed(0)} s (${b.accel})\n`,
        );
    }),
  );
}
