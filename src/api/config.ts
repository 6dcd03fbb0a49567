/**
 * `resolveConfig`: the manifests folder loaded over the bundled defaults, validated and typed (src/config).
 */
import { loadConfig } from '../config/load.js';
import { redactText, secretStrings } from '../config/redact.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import type { LoadedConfig } from '../config/types.js';
import { ConfigError, type Diagnostic } from '../errors.js';

export type { LoadedConfig };

/**
 * Loads the manifests folder named by `settings.workdir` (and profile overlay) over the bundled defaults,
 * validates it and returns the typed configuration. Messages of warnings and errors quote values from the
 * files: secrets of the configuration, URL credentials and private keys in them are masked.
 * @throws ConfigError listing every problem with file, key path, line:column and what was expected.
 */
export async function resolveConfig(settings: Partial<Settings> = {}): Promise<LoadedConfig> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({ ...defaultSettings(), ...settings });
  } catch (err) {
    // No configuration to take secrets from: what can be recognised by its form is masked.
    if (err instanceof ConfigError) throw new ConfigError(redactDiagnostics(err.diagnostics, []));
    throw err;
  }
  const secrets = secretStrings(loaded.config);
  return { config: loaded.config, warnings: redactDiagnostics(loaded.warnings, secrets) };
}

function redactDiagnostics(diags: readonly Diagnostic[], secrets: readonly string[]): Diagnostic[] {
  return diags.map((d) => ({ ...d, message: redactText(d.message, secrets) }));
}
