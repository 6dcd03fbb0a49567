import { loadConfig } from '../config/load.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import type { BuildConfig } from '../config/types.js';
import type { Diagnostic } from '../errors.js';

export interface LoadedConfig {
  config: BuildConfig;
  /** Non-fatal findings, e.g. unknown top-level variables. */
  warnings: Diagnostic[];
}

/**
 * Loads the manifests folder named by `settings.workdir` (and profile overlay) over the bundled defaults,
 * validates it and returns the typed configuration.
 * @throws ConfigError listing every problem with file, key path, line:column and what was expected.
 */
export async function resolveConfig(settings: Partial<Settings> = {}): Promise<LoadedConfig> {
  return loadConfig({ ...defaultSettings(), ...settings });
}
