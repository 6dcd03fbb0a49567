import { redactUrlCredentials } from './settings.js';
import type { BuildConfig } from './types.js';

/** A copy of the configuration safe to print or log: passwords masked, proxy credentials removed. */
export function redactSecrets(config: BuildConfig): BuildConfig {
  const copy = structuredClone(config);
  copy.settings.proxy = redactUrlCredentials(copy.settings.proxy);
  const mask = (users: { password?: string }[]) => {
    for (const u of users) if (u.password) u.password = '***';
  };
  mask(copy.osconfig.user_management);
  for (const b of copy.qcowBundles) mask(b.osconfig.user_management);
  return copy;
}
