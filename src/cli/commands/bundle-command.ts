/**
 * The commands over bundle folders (`package-qcow`, `images`, `clean`) share their set-up: the settings they
 * take, every `qcow-bundle*` folder unless QCOW_BUNDLE names one, and progress on stderr. Each prints its result.
 */
import type { Command } from 'commander';
import type { CommonOptions } from '../../api.js';
import type { CommandName } from '../../config/settings.js';
import { printProgress } from '../print-progress.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

/** True when QCOW_BUNDLE was given (flag or env): then only that folder is used, not every qcow-bundle*. */
export function bundleGiven(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): boolean {
  return typeof opts.qcowBundle === 'string' || env.QCOW_BUNDLE !== undefined;
}

/** What each of these commands hands its API call. */
export type BundleCall = Required<Pick<CommonOptions, 'signal' | 'onProgress'>> & {
  settings: NonNullable<CommonOptions['settings']>;
  everyBundleFolder: boolean;
};

/** Registers `name`: runs `call` with the command's settings and prints what it returns with `print`. */
export function registerBundleCommand<R>(
  program: Command,
  name: CommandName,
  description: string,
  call: (o: BundleCall) => Promise<R>,
  print: (r: R) => void,
): void {
  const cmd = program.command(name).description(description);
  addSettingOptions(cmd, name).action(
    action(async (signal, opts: Record<string, unknown>) => {
      const settings = settingsFrom(opts);
      print(
        await call({ settings, everyBundleFolder: !bundleGiven(opts), signal, onProgress: printProgress }),
      );
    }),
  );
}
