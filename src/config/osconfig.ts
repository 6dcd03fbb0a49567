/** The osconfig file set to {@link OsconfigVars}: the role's variables, the rest kept as `extra`. */
import { pick } from './schemas/kind.js';
import { type osconfigKind, ROLE_VARIABLES } from './schemas/osconfig.js';
import type { LoadedTable } from './table.js';
import type { OsconfigVars } from './types.js';

export { ROLE_VARIABLES };

/**
 * `grub_cmdline_linux_default_append` is already added to `grub.GRUB_CMDLINE_LINUX_DEFAULT`; it is kept on its
 * own as well so the printed configuration shows what a bundle added.
 */
export function buildOsconfig(t: LoadedTable<typeof osconfigKind>): OsconfigVars {
  const { picked: role, rest } = pick(t.vars, ROLE_VARIABLES);
  const { grub, grub_cmdline_linux_default_append: append } = role;
  return {
    ...role,
    grub: { ...grub, GRUB_CMDLINE_LINUX_DEFAULT: [...grub.GRUB_CMDLINE_LINUX_DEFAULT, ...append] },
    extra: { ...t.extra, ...rest },
  };
}
