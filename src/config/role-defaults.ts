/**
 * The values a variable takes when no file sets it (the equivalent of the original's role defaults), written
 * as a vars file would give them so they pass through the same templating and validation as the user's files.
 * The package lists and repos themselves live in the bundled `defaults/manifests/` folder.
 */

export const MULTISTRAP_DEFAULTS: Readonly<Record<string, unknown>> = {
  rootfs_arch: 'amd64',
  k8s_version: '1.21.2-00',
  kernel_base_pkg: 'linux-image-amd64',
  kernel_headers_pkg: 'linux-headers-amd64',
  systemd_nic_names_policy: 'kernel database onboard path slot',
  systemd_nic_alternative_names_policy: 'database onboard path slot',
  multistrap_retries: 3,
  multistrap_retries_delay: 3,
  repos: [],
  unapproved_packages: [],
};

/** Serial and VGA console, so a boot test sees the login prompt on the serial port. */
export const GRUB_DEFAULTS = {
  GRUB_TIMEOUT: 5,
  GRUB_CMDLINE_LINUX_DEFAULT: [
    { name: 'console', value: 'tty0' },
    { name: 'console', value: 'ttyS0,115200n8' },
  ],
  GRUB_SERIAL_COMMAND: [
    { name: 'speed', value: '115200' },
    { name: 'unit', value: '0' },
    { name: 'word', value: '8' },
    { name: 'parity', value: 'no' },
    { name: 'stop', value: '1' },
  ],
};

export const OSCONFIG_DEFAULTS: Readonly<Record<string, unknown>> = {
  default_run_context: 'common',
  qcow_run_context: 'qcow',
  kernel: { modules: { load: [], blacklist: [] } },
  banners: { login: '', motd: '' },
  kubelet: { extra_systemd_args: [] },
  grub: GRUB_DEFAULTS,
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
};

export const LIVECD_DEFAULTS: Readonly<Record<string, unknown>> = {
  mksquashfs_compression: 'lz4',
  mksquashfs_threads: 0,
  squashfs_timeout: 120,
  grub_menu_timeout: 0,
};

const fstab = (fsck: number) => ({ options: 'defaults,errors=remount-ro,noatime', dump: 0, fsck });

/**
 * GPT layout of the target disk: root is partition 1 (Ironic's config-drive injection expects that), then
 * bios_grub, the ESP and /boot placed before it on the disk.
 */
export const QCOW_DEFAULTS: Readonly<Record<string, unknown>> = {
  qcow_capacity: '8G',
  qcow_compress: true,
  qcow_compression_type: 'zlib',
  partitions: [
    {
      mount: '/',
      mount_order: 0,
      part_start: '1284MiB',
      part_end: '100%',
      filesystem: { type: 'ext4', fstab: fstab(1) },
    },
    { mount: 'none', mount_order: 99, part_start: '1MiB', part_end: '5MiB', flags: ['bios_grub'] },
    {
      mount: '/boot/efi',
      mount_order: 2,
      part_start: '5MiB',
      part_end: '516MiB',
      flags: ['esp'],
      filesystem: { type: 'vfat', fstab: fstab(1) },
    },
    {
      mount: '/boot',
      mount_order: 1,
      part_start: '516MiB',
      part_end: '1284MiB',
      filesystem: { type: 'ext4', fstab: fstab(2) },
    },
  ],
  qcow_container_runtime_scripts: [],
};

export const ISO_IMAGE_NAME = 'ephemeral.iso';
