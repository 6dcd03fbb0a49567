/** `rootfs/osconfig-vars.yaml` and a bundle's `osconfig-vars.yaml`: the operating system's settings. */
import { z } from 'zod';
import { GRUB_DEFAULTS } from '../role-defaults.js';
import { count, known, list, looseBool, name, nameValue, permissions, runContexts, text } from './common.js';
import type { VarsKind } from './kind.js';

const moduleName = known({ name });

const kernel = known({
  modules: known({
    load: list(moduleName).default([]),
    blacklist: list(moduleName).default([]),
  }).default({ load: [], blacklist: [] }),
});

const banners = known({ login: text.default(''), motd: text.default('') });

/** A `grub:` mapping replaces the default one as a whole; keys it leaves out keep their default values. */
const grub = known({
  GRUB_TIMEOUT: count.default(GRUB_DEFAULTS.GRUB_TIMEOUT),
  GRUB_CMDLINE_LINUX_DEFAULT: list(nameValue).default(() =>
    structuredClone(GRUB_DEFAULTS.GRUB_CMDLINE_LINUX_DEFAULT),
  ),
  GRUB_SERIAL_COMMAND: list(nameValue).default(() => structuredClone(GRUB_DEFAULTS.GRUB_SERIAL_COMMAND)),
});

const limit = known({
  name,
  domain: text,
  type: z.enum(['soft', 'hard', '-'], { error: 'expected soft, hard or -' }),
  item: name,
  value: text,
});

const owned = {
  name,
  owner: name.default('root'),
  group: name.default('root'),
  run_contexts: runContexts,
};

const directory = known({ ...owned, permissions: permissions.default('0755') });
const file = known({ ...owned, permissions: permissions.default('0644'), file_content: text });
const filePermission = known({ ...owned, permissions });

const systemdUnit = known({
  name,
  file_content: text,
  enabled: looseBool.default(true),
  force: looseBool.default(false),
  run_contexts: runContexts,
});

const userScript = known({ file_content: text, run_contexts: runContexts });

const user = known({
  name,
  shell: name.optional(),
  password: text.optional(),
  password_lock: looseBool.optional(),
  run_contexts: runContexts,
});

const fetch = known({ url: name, use_proxy: looseBool.default(false) });

export const osconfigKind: VarsKind = {
  title: 'osconfig',
  vars: {
    default_run_context: name,
    qcow_run_context: name,
    kernel,
    banners,
    kubelet: known({ extra_systemd_args: list(nameValue).default([]) }),
    grub,
    grub_cmdline_linux_default_append: list(nameValue),
    kdump_tools: known({ crashkernel: text }),
    limits: list(limit),
    sysctl: list(nameValue),
    directories: list(directory),
    files: list(file),
    systemd: list(systemdUnit),
    user_scripts: list(userScript),
    file_permissions: list(filePermission),
    user_management: list(user),
    fetch_from_url: list(fetch),
  },
  lists: new Set([
    'limits',
    'sysctl',
    'directories',
    'files',
    'systemd',
    'user_scripts',
    'file_permissions',
    'user_management',
    'fetch_from_url',
  ]),
  patterns: [],
  ignored: new Set(['rootfs_root', 'user_scripts_dir_default', 'user_scripts_dir_qcow']),
};

export { userScript };
