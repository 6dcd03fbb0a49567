/**
 * The settings reference in the README, generated from the settings table.
 */
import { SETTINGS, type SettingSpec } from './settings.js';

function defaultText(s: SettingSpec): string {
  const d = s.default;
  if (Array.isArray(d))
    return d.length ? d.join(',') : s.key === 'qcowBundleDirs' ? '(QCOW_BUNDLE)' : '(all)';
  if (d === '') return '(none)';
  return `\`${String(d)}\``;
}

/** The README's settings reference, generated from the settings table so the two never drift. */
export function settingsMarkdown(): string {
  const rows = SETTINGS.map((s) => {
    const flag = s.value ? `\`${s.flag} ${s.value}\`` : `\`${s.flag}\``;
    const cmds = s.commands === '*' ? 'all' : s.commands.join(', ');
    return `| \`${s.env}\` | ${flag} | ${defaultText(s)} | ${cmds} | ${s.help.replace(/\|/g, '\\|')} |`;
  });
  return [
    '| env variable | flag | default | commands | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
