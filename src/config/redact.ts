import { redactUrlCredentials } from './settings.js';
import type { BuildConfig } from './types.js';

const PASSWORD_KEY = /^(\s*(?:-\s+)?(?:password|passwd|plain_text_passwd|hashed_passwd)\s*:\s*)\S.*$/;
const LIST_BLOCK = /^(\s*)list\s*:\s*[|>]/;

/**
 * cloud-config text with password values masked: `password:`-like keys and the `user:secret` lines of a
 * `chpasswd` `list: |` block.
 */
export function redactUserData(text: string): string {
  const out: string[] = [];
  let listIndent = -1;
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (listIndent >= 0 && line.trim() !== '' && indent <= listIndent) listIndent = -1;
    if (listIndent >= 0) {
      out.push(line.replace(/^(\s*[^:\s]+:).+$/, '$1***'));
      continue;
    }
    const block = LIST_BLOCK.exec(line);
    if (block) listIndent = block[1]!.length;
    out.push(line.replace(PASSWORD_KEY, '$1***'));
  }
  return out.join('\n');
}

/** A copy of the configuration safe to print or log: passwords masked, proxy credentials removed. */
export function redactSecrets(config: BuildConfig): BuildConfig {
  const copy = structuredClone(config);
  copy.settings.proxy = redactUrlCredentials(copy.settings.proxy);
  const mask = (users: { password?: string }[]) => {
    for (const u of users) if (u.password) u.password = '***';
  };
  mask(copy.osconfig.user_management);
  for (const b of copy.qcowBundles) mask(b.osconfig.user_management);
  copy.iso.user_data = redactUserData(copy.iso.user_data);
  return copy;
}
