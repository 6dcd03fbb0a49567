/**
 * The resolved configuration. Keys read from manifest files keep the original's snake_case names:
 * they are the user's interface and are handed to our Ansible role as they are.
 */
import type { Settings } from './settings.js';

/** Where an osconfig item applies: the shared base image (`common`) or the QCOW cut (`qcow`). */
export type RunContext = 'common' | 'qcow';

export interface Repo {
  name: string;
  /** Mirror URL; `host` in a file is replaced at load by this machine's apt mirror for the suite. */
  source: string;
  suite: string;
  /** Space-separated in the files; split here. */
  components: string[];
  packages: string[];
  register_repo_with_rootfs: boolean;
  keyring_pkg?: string;
  /** A keyring file on the build host (absolute, or relative to the manifests folder). */
  keyring_file?: string;
  /** http(s) URL of the repo's key, downloaded at build time (through the proxy). */
  keyring_url?: string;
  /** Primary key fingerprint the key from `keyring_url` must have (40 upper-case hex digits). */
  keyring_fingerprint?: string;
  omitdebsrc: boolean;
}

export interface MultistrapVars {
  rootfs_arch: string;
  repos: Repo[];
  unapproved_packages: string[];
  systemd_nic_names_policy: string;
  systemd_nic_alternative_names_policy: string;
  multistrap_retries: number;
  multistrap_retries_delay: number;
  /** Repos whose source cannot be reached from this machine (e.g. Ubuntu mirrors): reported, not fatal at load. */
  unreachable_hints: string[];
  /** Every other variable of the file, kept for templating (`k8s_version`, `*_packages`). */
  extra: Record<string, unknown>;
}

export interface NameValue {
  name: string;
  value: string;
}

export interface WithRunContexts {
  run_contexts: RunContext[];
}

export interface OsconfigDirectory extends WithRunContexts {
  name: string;
  permissions: string;
  owner: string;
  group: string;
}

export interface OsconfigFile extends OsconfigDirectory {
  file_content: string;
}

export interface OsconfigSystemdUnit extends WithRunContexts {
  name: string;
  file_content: string;
  enabled: boolean;
  force: boolean;
}

export interface OsconfigUserScript extends WithRunContexts {
  file_content: string;
}

export interface OsconfigUser extends WithRunContexts {
  name: string;
  shell?: string;
  /** Hashed or empty; never logged. */
  password?: string;
  password_lock?: boolean;
}

export interface OsconfigFetch {
  url: string;
  use_proxy: boolean;
}

export interface OsconfigLimit {
  name: string;
  domain: string;
  type: string;
  item: string;
  value: string;
}

export interface OsconfigVars {
  kernel: { modules: { load: { name: string }[]; blacklist: { name: string }[] } };
  banners: { login: string; motd: string };
  grub: {
    GRUB_TIMEOUT: number;
    GRUB_CMDLINE_LINUX_DEFAULT: NameValue[];
    GRUB_SERIAL_COMMAND: NameValue[];
  };
  /** Extra kernel arguments a bundle adds; already included in `grub.GRUB_CMDLINE_LINUX_DEFAULT`, kept for display. */
  grub_cmdline_linux_default_append: NameValue[];
  kdump_tools: { crashkernel: string };
  limits: OsconfigLimit[];
  sysctl: NameValue[];
  directories: OsconfigDirectory[];
  files: OsconfigFile[];
  systemd: OsconfigSystemdUnit[];
  user_scripts: OsconfigUserScript[];
  file_permissions: OsconfigDirectory[];
  user_management: OsconfigUser[];
  fetch_from_url: OsconfigFetch[];
  kubelet: { extra_systemd_args: NameValue[] };
  /**
   * Variables of the files that the role does not know, kept for display: ones a template uses and the
   * original's container paths. Never handed to the role.
   */
  extra: Record<string, unknown>;
}

export interface LivecdVars {
  /** mksquashfs_compression: gzip | xz | lz4 | zstd | lzo (lzo is refused: not in our writer). */
  mksquashfs_compression: 'gzip' | 'xz' | 'lz4' | 'zstd';
  /** Compression level; default is the compressor's mksquashfs default. */
  mksquashfs_level?: number;
  /** Worker threads; 0 = all cores. */
  mksquashfs_threads: number;
  /** Seconds after which a stalled squashfs write fails. */
  squashfs_timeout: number;
  grub_menu_timeout: number;
}

export interface IsoVars {
  img_name: string;
  user_data: string;
  network_data: unknown;
  meta_data: { hostname?: string; name?: string; uuid?: string; [k: string]: unknown };
  /** Files the three came from (bundled default or the user's). */
  sources: { user_data: string; network_data: string; meta_data: string };
}

export type FilesystemType = 'ext4' | 'vfat' | 'xfs';

export interface Partition {
  mount: string;
  mount_order: number;
  /** Resolved to bytes from MiB/GiB/% against qcow_capacity. */
  start_bytes: number;
  end_bytes: number;
  /** As written in the file, for messages. */
  part_start: string;
  part_end: string;
  flags: ('bios_grub' | 'esp')[];
  filesystem?: {
    type: FilesystemType;
    fstab: { options: string; dump: number; fsck: number };
  };
}

export interface QcowVars {
  img_name: string;
  qcow_capacity: string;
  capacity_bytes: number;
  qcow_compress: boolean;
  /** Output compression: zlib (readable everywhere) or zstd (QEMU >= 5.1, much faster). */
  qcow_compression_type: 'zlib' | 'zstd';
  /** Who writes the qcow2: the built-in parallel writer, or `qemu-img convert` (the fallback). */
  qcow_writer: 'native' | 'qemu-img';
  partitions: Partition[];
  qcow_container_runtime_scripts: OsconfigUserScript[];
}

export interface QcowBundle {
  /** Sub-folder name, e.g. `control-plane`; the QCOW is `<name>.qcow2`. */
  name: string;
  /** The bundle folder it belongs to, relative to the manifests folder (`qcow-bundle`). */
  folder?: string;
  /** Sub-folder of OUT_DIR its artifacts go to: the folder when QCOW_BUNDLE_DIRS names several, else ''. */
  outSub?: string;
  dir: string;
  osconfig: OsconfigVars;
  qcow: QcowVars;
}

export interface BuildConfig {
  settings: Settings;
  /** `${DOCKER_REGISTRY}/${IMAGE_PREFIX}/image-builder:${IMAGE_TAG}-${DISTRO}` */
  imageRef: string;
  /** The user's manifests folder, or null when only bundled defaults are used. */
  manifestsDir: string | null;
  multistrap: MultistrapVars;
  osconfig: OsconfigVars;
  livecdcontent: LivecdVars;
  iso: IsoVars;
  qcowBundles: QcowBundle[];
}
