/** `image-builder cut-image`: progress on stderr, one line per artifact (path, cut and boot times) on stdout. */
import type { Command } from 'commander';
import { cutImage } from '../../api.js';
import { addProgressOption, withProgress } from '../progress-render.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerCutImage(program: Command): void {
  const cmd = program
    .command('cut-image')
    .description(
      'Cut an ephemeral ISO or the QCOW2s of a bundle from the built image, then boot-test them unless BOOT_TIMEOUT=0.',
    )
    .option('--name <FILE>', 'ISO file name in the output folder (default: iso img_name, else ephemeral.iso)')
    .option('--out <FILE>', 'same as --name');
  addProgressOption(addSettingOptions(cmd, 'cut-image')).action(
    action(async (signal, opts: Record<string, unknown>) => {
      const name = (opts.name ?? opts.out) as string | undefined;
      const out = await withProgress(opts, (onProgress) =>
        cutImage({ settings: settingsFrom(opts), signal, onProgress, ...(name ? { name } : {}) }),
      );
      for (const a of out) {
        const boots = a.boots
          .map((b) => `${b.firmware} ${(b.elapsedMs / 1000).toFixed(0)} s (${b.accel})`)
          .join(', ');
        process.stdout.write(
          `${a.file} cut in ${(a.cutMs / 1000).toFixed(1)} s${boots ? `; booted: ${boots}` : ''}\n`,
        );
      }
    }),
  );
}
