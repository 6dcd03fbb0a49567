/** `rootfs/multistrap-vars.yaml`: where the root filesystem's packages come from. */
import { z } from 'zod';
import { count, describe, known, list, looseBool, name, stringList, text } from './common.js';
import type { VarsKind } from './kind.js';

/** `components: main restricted` in the files; a list is accepted too. */
const components = z
  .union([z.string(), z.array(z.string())], {
    error: (iss) => `expected components as text ("main contrib") or a list, got ${describe(iss.input)}`,
  })
  .transform((v) => (Array.isArray(v) ? v : v.split(/\s+/)).filter((c) => c.length > 0));

export const repoSchema = known({
  name,
  /** A URL, or `host`: the machine's own apt mirror for this suite. */
  source: name,
  suite: name,
  components: components.default(['main']),
  packages: list(name).default([]),
  register_repo_with_rootfs: looseBool.default(true),
  keyring_pkg: name.optional(),
  keyring_file: name.optional(),
  keyring_url: name.optional(),
  omitdebsrc: looseBool.default(false),
});

export type RepoInput = z.output<typeof repoSchema>;

export const multistrapKind: VarsKind = {
  title: 'multistrap',
  vars: {
    rootfs_arch: name,
    repos: list(repoSchema),
    unapproved_packages: stringList,
    systemd_nic_names_policy: text,
    systemd_nic_alternative_names_policy: text,
    multistrap_retries: count,
    multistrap_retries_delay: count,
    k8s_version: text,
    kernel_base_pkg: name,
    kernel_headers_pkg: name,
  },
  lists: new Set(['repos', 'unapproved_packages']),
  patterns: [{ re: /^[a-z0-9_]+_packages$/, schema: list(name) }],
  ignored: new Set(['rootfs_root']),
};
