/**
 * The settings table (src/config/settings.ts) as command-line options, and the settings they resolve to.
 */
import { type Command, Option } from 'commander';
import { type CommandName, resolveSettings, SETTINGS, type Settings, UsageError } from '../api.js';

function describeDefault(d: string | number | boolean | readonly string[]): string {
  if (Array.isArray(d)) return d.length ? d.join(',') : '(all)';
  if (d === '') return '(none)';
  return String(d);
}

/** Adds every setting of the table that `name` takes, with its default and env variable in the help. */
export function addSettingOptions(cmd: Command, name: CommandName): Command {
  for (const spec of SETTINGS) {
    if (spec.commands !== '*' && !spec.commands.includes(name)) continue;
    const flags = spec.value ? `${spec.flag} <${spec.value}>` : spec.flag;
    const help = `${spec.help} (default: ${describeDefault(spec.default)}; env ${spec.env})`;
    cmd.addOption(new Option(flags, help));
  }
  return cmd;
}

/** Settings from env + the flags commander parsed; a flag wins over env. */
export function settingsFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Settings {
  const flags: Partial<Record<keyof Settings, string | boolean>> = {};
  for (const spec of SETTINGS) {
    const attr = spec.flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const v = opts[attr];
    if (typeof v === 'string' || typeof v === 'boolean') flags[spec.key] = v;
  }
  try {
    return resolveSettings(env, flags);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
