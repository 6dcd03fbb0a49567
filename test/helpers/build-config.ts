/**
 * A BuildConfig for the build tests, made from a manifests folder without the config loader (interim: the
 * loader is being written on another branch; switch to resolveConfig() when it is on main).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { type BuildConfig, defaultSettings, imageReference, type Settings } from '../../src/api.js';

/** This machine's apt mirror for Debian (first deb822 `URIs:` of a non-security source). */
export function hostMirror(): string {
  for (const f of ['/etc/apt/sources.list.d/debian.sources']) {
    try {
      const text = readFileSync(f, 'utf8');
      for (const stanza of text.split(/\n\s*\n/)) {
        const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
        if (uri && !/security/.test(uri)) return uri;
      }
    } catch {}
  }
  const list = readFileSync('/etc/apt/sources.list', 'utf8');
  const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(list);
  if (!m?.[1]) throw new Error('no apt mirror found in the host apt sources');
  return m[1];
}

function readVars(dir: string, name: string): Record<string, unknown> {
  try {
    const text = readFileSync(join(dir, 'rootfs', name), 'utf8').replaceAll(
      '{{ default_run_context }}',
      'common',
    );
    return (YAML.parse(text) as Record<string, unknown> | null) ?? {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

interface RawRepo {
  name: string;
  source: string;
  suite: string;
  components: string;
  packages?: string[];
  keyring_pkg?: string;
  register_repo_with_rootfs?: boolean;
}

export function testBuildConfig(manifestsDir: string, settings: Partial<Settings>): BuildConfig {
  const s: Settings = { ...defaultSettings(), ...settings, workdir: manifestsDir };
  const m = readVars(manifestsDir, 'multistrap-vars.yaml');
  const o = readVars(manifestsDir, 'osconfig-vars.yaml');
  const l = readVars(manifestsDir, 'livecdcontent-vars.yaml');
  const repos = ((m.repos as RawRepo[]) ?? []).map((r) => ({
    name: r.name,
    source: r.source === 'host' ? hostMirror() : r.source,
    suite: r.suite,
    components: r.components.split(/\s+/),
    packages: r.packages ?? [],
    register_repo_with_rootfs: r.register_repo_with_rootfs ?? false,
    ...(r.keyring_pkg ? { keyring_pkg: r.keyring_pkg } : {}),
    omitdebsrc: true,
  }));
  const osconfig = {
    kernel: { modules: { load: [], blacklist: [] } },
    banners: { login: '', motd: '' },
    grub: { GRUB_TIMEOUT: 5, GRUB_CMDLINE_LINUX_DEFAULT: [], GRUB_SERIAL_COMMAND: [] },
    grub_cmdline_linux_default_append: [],
    kdump_tools: { crashkernel: '' },
    limits: [],
    sysctl: [],
    directories: [],
    files: [],
    systemd: [],
    user_scripts: [],
    file_permissions: [],
    user_management: [],
    fetch_from_url: [],
    kubelet: { extra_systemd_args: [] },
    extra: {},
    ...o,
  } as BuildConfig['osconfig'];
  return {
    settings: s,
    imageRef: imageReference(s),
    manifestsDir,
    multistrap: {
      rootfs_arch: 'amd64',
      repos,
      unapproved_packages: (m.unapproved_packages as string[]) ?? [],
      systemd_nic_names_policy: 'kernel database onboard path slot',
      systemd_nic_alternative_names_policy: 'database onboard path slot',
      multistrap_retries: (m.multistrap_retries as number) ?? 3,
      multistrap_retries_delay: (m.multistrap_retries_delay as number) ?? 3,
      unreachable_hints: [],
      extra: {},
    },
    osconfig,
    livecdcontent: {
      mksquashfs_compression: (l.mksquashfs_compression as 'zstd') ?? 'zstd',
      mksquashfs_threads: 0,
      squashfs_timeout: 1800,
      grub_menu_timeout: 5,
    },
    iso: {
      img_name: 'ephemeral.iso',
      user_data: '',
      network_data: {},
      meta_data: {},
      sources: { user_data: '', network_data: '', meta_data: '' },
    },
    qcowBundles: [],
  };
}
