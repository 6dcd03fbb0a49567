/** `rootfs/multistrap-vars.yaml`: where the root filesystem's packages come from. */
import { z } from 'zod';
import { count, fileName, known, lineText, list, looseBool, name, describe as show } from './common.js';
import { varsKind } from './kind.js';

/** One word of an apt source line (suite, component): no blank, bracket, quote or option. */
const WORD = /^[A-Za-z0-9][A-Za-z0-9._/+~-]*$/;

/**
 * apt's `[option=value]` block (`[trusted=yes]`, `[allow-insecure=yes]`) only comes from our own sources
 * writer (signed-by); one in a manifest field would turn signature checks off or inject options.
 */
function aptWordProblem(v: string): string | undefined {
  if (/\[|\]/.test(v)) {
    return /trusted|insecure|allow-|check-valid|signed-by/i.test(v)
      ? `apt options such as ${show(v)} are refused: they turn off or replace signature checks (give keyring_file, keyring_pkg or keyring_url instead)`
      : `apt options ("[…]") are not accepted here, got ${show(v)}`;
  }
  return WORD.test(v)
    ? undefined
    : `expected one word of an apt source line (letters, digits, "._/+~-"), got ${show(v)}`;
}

function word(v: string, ctx: z.RefinementCtx): string {
  const why = aptWordProblem(v);
  if (why === undefined) return v;
  ctx.addIssue({ code: 'custom', message: why });
  return z.NEVER;
}

/** `host` or an http(s)/file URL: the mirror the suite is fetched from, a single field of the source line. */
const source = name.transform((v, ctx): string => {
  if (v === 'host') return v;
  if (/\[|\]|\s/.test(v)) return word(v, ctx);
  let ok = false;
  try {
    ok = ['http:', 'https:', 'file:'].includes(new URL(v).protocol) && !/["'`\\]/.test(v);
  } catch {
    ok = false;
  }
  if (ok) return v;
  ctx.addIssue({ code: 'custom', message: `expected "host" or an http, https or file URL, got ${show(v)}` });
  return z.NEVER;
});

/** A package as apt takes it on a command line: `name`, `name=version`, `name:arch`; never an option. */
const packageName = name.transform((v, ctx): string => {
  if (/^[A-Za-z0-9][A-Za-z0-9+._:~=-]*$/.test(v)) return v;
  ctx.addIssue({ code: 'custom', message: `expected a package name (optionally =version), got ${show(v)}` });
  return z.NEVER;
});

/** `components: main restricted` in the files; a list is accepted too. */
const components = z
  .union([z.string(), z.array(z.string())], {
    error: (iss) => `expected components as text ("main contrib") or a list, got ${show(iss.input)}`,
  })
  .transform((v) => (Array.isArray(v) ? v : v.split(/\s+/)).filter((c) => c.length > 0))
  .pipe(z.array(z.string().transform(word)));

export const repoSchema = known({
  /** Used in file names of the apt sources: a plain name. */
  name: fileName,
  /** A URL, or `host`: the machine's own apt mirror for this suite. */
  source,
  suite: name.transform(word),
  components: components.default(['main']),
  packages: list(packageName).default([]),
  register_repo_with_rootfs: looseBool.default(true),
  keyring_pkg: packageName.optional(),
  /** Checked where it is resolved (it must be a keyring file inside the manifests folder or the host's keyrings). */
  keyring_file: name.optional(),
  keyring_url: name
    .transform((v, ctx): string => {
      try {
        if (['http:', 'https:'].includes(new URL(v).protocol) && !/[\s"'`\\]/.test(v)) return v;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: `expected an http or https URL, got ${show(v)}` });
      return z.NEVER;
    })
    .optional(),
  /** The key's primary fingerprint, as gpg prints it (blanks allowed, any case). */
  keyring_fingerprint: name
    .transform((v, ctx): string => {
      const hex = v.replace(/\s+/g, '').toUpperCase();
      if (/^[0-9A-F]{40}$/.test(hex)) return hex;
      ctx.addIssue({
        code: 'custom',
        message: `expected an OpenPGP v4 key fingerprint (40 hex digits, blanks allowed), got ${show(v)}`,
      });
      return z.NEVER;
    })
    .optional(),
  omitdebsrc: looseBool.default(false),
});

/** Known variables that act only through a template naming them (a repo's `packages: "{{ k8s_version }}"`). */
export const TEMPLATE_ONLY = ['k8s_version', 'kernel_base_pkg', 'kernel_headers_pkg'] as const;

const vars = {
  rootfs_arch: name
    .regex(/^[a-z0-9-]+$/, { error: 'expected a Debian architecture name such as amd64' })
    .default('amd64'),
  repos: list(repoSchema).default([]),
  unapproved_packages: z
    .array(packageName, { error: (iss) => `expected a list of package names, got ${show(iss.input)}` })
    .default(() => ['unattended-upgrades', 'systemd-timesyncd']),
  systemd_nic_names_policy: lineText.default('kernel database onboard path slot'),
  systemd_nic_alternative_names_policy: lineText.default('database onboard path slot'),
  multistrap_retries: count.default(3),
  multistrap_retries_delay: count.default(3),
  k8s_version: lineText.default('1.21.2-00'),
  kernel_base_pkg: name.default('linux-image-amd64'),
  kernel_headers_pkg: name.default('linux-headers-amd64'),
};

export const multistrapKind = varsKind(
  'multistrap',
  vars,
  { rootfs_root: { value: 'build', here: 'the root filesystem the rootfs stage bootstraps' } },
  {
    patterns: [{ re: /^[a-z0-9_]+_packages$/, schema: list(packageName) }],
    templateOnly: new Set(TEMPLATE_ONLY),
  },
);

export type Repo = z.output<typeof repoSchema>;
