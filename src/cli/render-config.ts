/**
 * `config show`: the resolved configuration as YAML or JSON, secrets masked.
 */
import { stringify } from 'yaml';
import type { BuildConfig } from '../api.js';
import { redactSecrets } from '../config/redact.js';

/** The resolved configuration as the user reads it; secrets are masked. */
export function renderConfig(config: BuildConfig, json: boolean): string {
  const safe = redactSecrets(config);
  return json ? `${JSON.stringify(safe, null, 2)}\n` : stringify(safe);
}
