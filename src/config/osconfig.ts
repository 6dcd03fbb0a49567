/** The osconfig file set to {@link OsconfigVars}. */
import type { LoadedTable } from './table.js';
import type { NameValue, OsconfigVars } from './types.js';

/** The osconfig role's documented variables: all it is ever handed from the manifests. */
export const ROLE_VARIABLES = [
  'kernel',
  'banners',
  'grub',
  'grub_cmdline_linux_default_append',
  'kdump_tools',
  'limits',
  'sysctl',
  'directories',
  'files',
  'systemd',
  'user_scripts',
  'file_permissions',
  'user_management',
  'fetch_from_url',
  'kubelet',
] as const satisfies readonly (keyof OsconfigVars)[];

const TYPED: ReadonlySet<string> = new Set(ROLE_VARIABLES);

/**
 * `grub_cmdline_linux_default_append` is already added to `grub.GRUB_CMDLINE_LINUX_DEFAULT`; it is kept on its
 * own as well so the printed configuration shows what a bundle added.
 */
export function buildOsconfig(t: LoadedTable): OsconfigVars {
  const v = t.values as Partial<OsconfigVars>;
  const append = (v.grub_cmdline_linux_default_append ?? []) as NameValue[];
  const grub = v.grub ?? { GRUB_TIMEOUT: 5, GRUB_CMDLINE_LINUX_DEFAULT: [], GRUB_SERIAL_COMMAND: [] };
  const extra: Record<string, unknown> = { ...t.extra };
  for (const [k, val] of Object.entries(v)) if (!TYPED.has(k)) extra[k] = val;
  return {
    kernel: v.kernel ?? { modules: { load: [], blacklist: [] } },
    banners: v.banners ?? { login: '', motd: '' },
    grub: { ...grub, GRUB_CMDLINE_LINUX_DEFAULT: [...grub.GRUB_CMDLINE_LINUX_DEFAULT, ...append] },
    grub_cmdline_linux_default_append: append,
    kdump_tools: v.kdump_tools ?? { crashkernel: '' },
    limits: v.limits ?? [],
    sysctl: v.sysctl ?? [],
    directories: v.directories ?? [],
    files: v.files ?? [],
    systemd: v.systemd ?? [],
    user_scripts: v.user_scripts ?? [],
    file_permissions: v.file_permissions ?? [],
    user_management: v.user_management ?? [],
    fetch_from_url: v.fetch_from_url ?? [],
    kubelet: v.kubelet ?? { extra_systemd_args: [] },
    extra,
  };
}
