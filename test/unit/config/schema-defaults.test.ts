// Each variables file's schema carries every default: the built-in layer, the list variables that take
// `X_append` and the configuration's types are derived from it, so nothing restates a default or a key.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ROLE_VARIABLES } from '../../../src/config/osconfig.js';
import { GRUB_DEFAULTS } from '../../../src/config/role-defaults.js';
import { defaultsOf, listsOf, type VarsKind } from '../../../src/config/schemas/kind.js';
import { livecdKind } from '../../../src/config/schemas/livecd.js';
import { multistrapKind } from '../../../src/config/schemas/multistrap.js';
import { osconfigKind } from '../../../src/config/schemas/osconfig.js';
import { qcowKind } from '../../../src/config/schemas/qcow.js';
import type { LivecdVars, OsconfigLimit, OsconfigVars, QcowVars } from '../../../src/config/types.js';
import { load, scratch } from './fixtures.js';

const KINDS: [string, VarsKind][] = [
  ['multistrap', multistrapKind],
  ['osconfig', osconfigKind],
  ['livecd', livecdKind],
  ['qcow', qcowKind],
];

describe('schema defaults', () => {
  it.each(KINDS)(
    '%s: every variable has a default or is optional, so a file may leave any out',
    (_, kind) => {
      const without = Object.entries(kind.vars).filter(([, s]) => !s.safeParse(undefined).success);
      expect(without.map(([k]) => k)).toEqual([]);
    },
  );

  it.each(KINDS)('%s: each default passes its own schema unchanged (it is read like a file)', (_, kind) => {
    for (const [name, value] of Object.entries(defaultsOf(kind))) {
      const r = kind.vars[name]!.safeParse(value);
      expect(r.success, name).toBe(true);
      expect(r.data, name).toEqual(value);
    }
  });

  it('gives each load its own copy of a default (a change to one load leaks into no other)', () => {
    const before = structuredClone(GRUB_DEFAULTS.GRUB_CMDLINE_LINUX_DEFAULT);
    const a = defaultsOf(osconfigKind).grub as typeof GRUB_DEFAULTS;
    a.GRUB_CMDLINE_LINUX_DEFAULT.push({ name: 'leak', value: '1' });
    const b = defaultsOf(osconfigKind).grub as typeof GRUB_DEFAULTS;
    expect(b.GRUB_CMDLINE_LINUX_DEFAULT).toEqual(before);
    expect(GRUB_DEFAULTS.GRUB_CMDLINE_LINUX_DEFAULT).toEqual(before);
  });

  it('derives the list variables from the defaults; an _append variable of its own is not one', () => {
    expect([...listsOf(osconfigKind)].sort()).toEqual(
      [
        'directories',
        'fetch_from_url',
        'file_permissions',
        'files',
        'limits',
        'systemd',
        'sysctl',
        'user_management',
        'user_scripts',
      ].sort(),
    );
    expect([...listsOf(multistrapKind)].sort()).toEqual(['repos', 'unapproved_packages']);
    expect([...listsOf(qcowKind)].sort()).toEqual(['partitions', 'qcow_container_runtime_scripts']);
    expect(listsOf(livecdKind).size).toBe(0);
  });

  it('hands the role exactly its schema variables; the run-context names stay in extra', async () => {
    const { config } = await load();
    expect(Object.keys(config.osconfig).sort()).toEqual([...ROLE_VARIABLES, 'extra'].sort());
    expect(config.osconfig.extra).toMatchObject({ default_run_context: 'common', qcow_run_context: 'qcow' });
    expect(config.multistrap.extra).toMatchObject({ k8s_version: '1.21.2-00' });
    expect(config.multistrap).not.toHaveProperty('k8s_version');
  });

  it('keeps the grub defaults (console= included) for a grub mapping that sets only the timeout', async () => {
    const m = await scratch({ 'rootfs/osconfig-vars.yaml': 'grub:\n  GRUB_TIMEOUT: 3\n' });
    try {
      const { config } = await load({ workdir: m.dir });
      expect(config.osconfig.grub.GRUB_TIMEOUT).toBe(3);
      expect(config.osconfig.grub.GRUB_CMDLINE_LINUX_DEFAULT).toEqual(
        GRUB_DEFAULTS.GRUB_CMDLINE_LINUX_DEFAULT,
      );
    } finally {
      await m.cleanup();
    }
  });

  it('names the QCOW after its bundle, the one default that depends on where the file is', async () => {
    const { config } = await load();
    for (const b of config.qcowBundles) expect(b.qcow.img_name).toBe(`${b.name}.qcow2`);
  });

  it('types the values as the schemas give them', () => {
    // Checked by `npm run typecheck` (tsc reads the tests): the interface once said `string` here.
    expectTypeOf<OsconfigLimit['type']>().toEqualTypeOf<'soft' | 'hard' | '-'>();
    expectTypeOf<LivecdVars['mksquashfs_compression']>().toEqualTypeOf<'gzip' | 'xz' | 'lz4' | 'zstd'>();
    expectTypeOf<LivecdVars['mksquashfs_level']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<QcowVars['qcow_capacity']>().toEqualTypeOf<string>();
    expectTypeOf<OsconfigVars['grub']['GRUB_TIMEOUT']>().toEqualTypeOf<number>();
  });
});
