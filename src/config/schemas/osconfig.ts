/** `rootfs/osconfig-vars.yaml` and a bundle's `osconfig-vars.yaml`: the operating system's settings. */
import { z } from 'zod';
import {
  BANNER_DEFAULTS,
  GRUB_DEFAULTS,
  KERNEL_DEFAULTS,
  LIMITS_DEFAULTS,
  SYSCTL_DEFAULTS,
} from '../role-defaults.js';
import {
  account,
  argument,
  count,
  fieldName,
  fieldText,
  fileName,
  imagePath,
  known,
  lineText,
  list,
  looseBool,
  name,
  permissions,
  runContexts,
  text,
} from './common.js';
import { varsKind } from './kind.js';

/** A default that each load gets its own copy of. */
const copy =
  <T>(v: T) =>
  (): T =>
    structuredClone(v);

const moduleName = known({
  name: name.regex(/^[A-Za-z0-9_-]+$/, {
    error: 'expected a kernel module name (letters, digits, "_", "-")',
  }),
});

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
  GRUB_CMDLINE_LINUX_DEFAULT: list(argument).default(copy(GRUB_DEFAULTS.GRUB_CMDLINE_LINUX_DEFAULT)),
  GRUB_SERIAL_COMMAND: list(argument).default(copy(GRUB_DEFAULTS.GRUB_SERIAL_COMMAND)),
});

/** A line of limits.conf: `<domain> <type> <item> <value>`, each a single field; `name` becomes a comment. */
const limit = known({
  name: lineText,
  domain: fieldText,
  type: z.enum(['soft', 'hard', '-'], { error: 'expected soft, hard or -' }),
  item: fieldName,
  value: fieldText,
});

const owned = {
  name: imagePath,
  owner: account.default('root'),
  group: account.default('root'),
  run_contexts: runContexts,
};

const directory = known({ ...owned, permissions: permissions.default('0755') });
const file = known({ ...owned, permissions: permissions.default('0644'), file_content: text });
const filePermission = known({ ...owned, permissions });

const systemdUnit = known({
  /** Written to /etc/systemd/system/<name>: a unit file name, never a path. */
  name: fileName,
  file_content: text,
  enabled: looseBool.default(true),
  force: looseBool.default(false),
  run_contexts: runContexts,
});

const userScript = known({ file_content: text, run_contexts: runContexts });

/** The crypt(3) schemes a current Debian or Ubuntu `/etc/shadow` takes; `$1$` (MD5) is too weak to accept. */
const CRYPT = /^\$(?:6|5|y|gy|2b|2a|2y|7)\$[./A-Za-z0-9$,=+-]+$/;

/**
 * A password as it goes into /etc/shadow: a crypt hash, or empty (no password). A plaintext password would be
 * stored as it is (and could never be typed to log in); the message never repeats the value.
 */
const passwordHash = z.unknown().transform((v, ctx): string => {
  if (v === null || v === '') return '';
  if (typeof v === 'string' && CRYPT.test(v)) return v;
  ctx.addIssue({
    code: 'custom',
    message:
      typeof v === 'string'
        ? 'expected a crypt hash ($6$…, $y$…, $5$…, $2b$…), not the password itself; make one with `openssl passwd -6` or `mkpasswd -m sha-512` and put its output here'
        : `expected a crypt hash such as $6$…, got ${Array.isArray(v) ? 'a list' : `a ${typeof v}`}`,
  });
  return z.NEVER;
});

const user = known({
  name: account,
  shell: imagePath.optional(),
  password: passwordHash.optional(),
  password_lock: looseBool.optional(),
  run_contexts: runContexts,
});

/** A URL the image fetches: http, https or ftp, one token. */
const url = name.transform((v, ctx): string => {
  let ok = false;
  try {
    ok = ['http:', 'https:', 'ftp:'].includes(new URL(v).protocol) && !/[\s"'`\\]/.test(v);
  } catch {
    ok = false;
  }
  if (ok) return v;
  ctx.addIssue({ code: 'custom', message: 'expected an http, https or ftp URL without blanks or quotes' });
  return z.NEVER;
});

const fetch = known({ url, use_proxy: looseBool.default(false) });

const sysctlItem = known({ name: fieldName, value: lineText });

/** A list variable, empty unless a file sets it. */
const none = <T extends z.ZodType>(item: T) => list(item).default([]);

/**
 * The osconfig role's documented variables, with the original's role defaults: all the role is ever handed
 * from the manifests (in the role's order).
 */
const roleVars = {
  kernel: kernel.default(copy(KERNEL_DEFAULTS)),
  banners: banners.default(copy(BANNER_DEFAULTS)),
  grub: grub.default(copy(GRUB_DEFAULTS)),
  grub_cmdline_linux_default_append: none(argument),
  kdump_tools: known({ crashkernel: fieldText }).default({ crashkernel: '768M' }),
  limits: list(limit).default(copy(LIMITS_DEFAULTS)),
  sysctl: list(sysctlItem).default(copy(SYSCTL_DEFAULTS)),
  directories: none(directory),
  files: none(file),
  systemd: none(systemdUnit),
  user_scripts: none(userScript),
  file_permissions: none(filePermission),
  user_management: none(user),
  fetch_from_url: none(fetch),
  kubelet: known({ extra_systemd_args: list(argument).default([]) }).default({ extra_systemd_args: [] }),
};

export type RoleVariable = keyof typeof roleVars;
/** The osconfig role's documented variables: all it is ever handed from the manifests. */
export const ROLE_VARIABLES = Object.keys(roleVars) as RoleVariable[];

const vars = {
  // Names the role's run contexts; another name would match no item, so only the original's are taken.
  default_run_context: z
    .literal('common', {
      error: 'expected common: the run context of the shared base image has this one name',
    })
    .default('common'),
  qcow_run_context: z
    .literal('qcow', { error: 'expected qcow: the run context of a QCOW has this one name' })
    .default('qcow'),
  ...roleVars,
};

const scriptsDir = (context: string) => ({
  value: `/config/scripts/${context}`,
  here: `the manifests folder's scripts/${context}/ (run in name order)`,
});

export const osconfigKind = varsKind('osconfig', vars, {
  rootfs_root: { value: 'build', here: 'the image the osconfig role is applied to' },
  user_scripts_dir_default: scriptsDir('common'),
  user_scripts_dir_qcow: scriptsDir('qcow'),
});

export type OsconfigValues = z.output<z.ZodObject<typeof roleVars>>;
export type NameValue = z.output<typeof argument>;
export type OsconfigLimit = z.output<typeof limit>;
export type OsconfigDirectory = z.output<typeof directory>;
export type OsconfigFile = z.output<typeof file>;
export type OsconfigSystemdUnit = z.output<typeof systemdUnit>;
export type OsconfigUserScript = z.output<typeof userScript>;
export type OsconfigUser = z.output<typeof user>;
export type OsconfigFetch = z.output<typeof fetch>;

export { userScript };
