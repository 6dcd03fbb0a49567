/**
 * `image-builder config validate|show`: checks a manifests folder (exit 2 on errors) or prints it resolved.
 */
import type { Command } from 'commander';
import { resolveConfig } from '../../api.js';
import { action, printWarnings } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

export function registerConfig(program: Command): void {
  const cmd = program
    .command('config')
    .description(
      'Print the fully resolved configuration: bundled defaults < manifests folder < profile overlay.',
    )
    .option('--json', 'print JSON instead of YAML');
  addSettingOptions(cmd, 'config').action(
    action(async (_signal, opts: Record<string, unknown>) => {
      const { config, warnings } = await resolveConfig(settingsFrom(opts));
      printWarnings(warnings);
      // The YAML printer loads only for this command.
      const { renderConfig } = await import('../render-config.js');
      process.stdout.write(renderConfig(config, opts.json === true));
    }),
  );
  const validate = cmd
    .command('validate')
    .description(
      'Check the manifests folder; exit 0 when valid, 2 with every error (file, key, line:column) otherwise.',
    );
  addSettingOptions(validate, 'config').action(
    action(async (_signal, opts: Record<string, unknown>, sub: Command) => {
      const { warnings } = await resolveConfig(settingsFrom({ ...sub.parent?.opts(), ...opts }));
      printWarnings(warnings);
      process.stdout.write(
        `configuration is valid${warnings.length ? ` (${warnings.length} warning(s))` : ''}\n`,
      );
    }),
  );
}
