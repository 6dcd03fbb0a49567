/**
 * A BuildConfig for cut tests, written out in full so these tests do not depend on the config loader.
 * Two bundles with different layouts: `control-plane` (the original's default: separate /boot, ext4 root)
 * and `data-plane` (no separate /boot, xfs root, qcow2 zstd compression).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { defaultSettings, type Settings } from '../../../src/config/settings.js';
import type { BuildConfig, OsconfigVars, Partition, QcowBundle } from '../../../src/config/types.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The development stand-in image (make-dev-image.sh); tests pass the real one as `imageRef`. */
export const DEV_IMAGE = 'localhost/airshipit/image-builder:cutdev-debian_bookworm';

export function osconfig(): OsconfigVars {
  return {
    kernel: { modules: { load: [], blacklist: [] } },
    banners: { login: '', motd: '' },
    grub: {
      GRUB_TIMEOUT: 1,
      GRUB_CMDLINE_LINUX_DEFAULT: [
        { name: 'console', value: 'tty0' },
        { name: 'console', value: 'ttyS0,115200n8' },
      ],
      GRUB_SERIAL_COMMAND: [],
    },
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
  };
}

function part(
  mount: string,
  order: number,
  start: number,
  end: number,
  extra: Partial<Partition> = {},
): Partition {
  return {
    mount,
    mount_order: order,
    start_bytes: start,
    end_bytes: end,
    part_start: `${start / MiB}MiB`,
    part_end: `${end / MiB}MiB`,
    flags: [],
    ...extra,
  };
}
const fs = (type: 'ext4' | 'vfat' | 'xfs', fsck: number) => ({
  type,
  fstab: { options: 'defaults,errors=remount-ro,noatime', dump: 0, fsck },
});

export function controlPlaneLayout(capacity = 4 * GiB): Partition[] {
  return [
    { ...part('/', 0, 1284 * MiB, capacity), part_end: '100%', filesystem: fs('ext4', 1) },
    part('none', 99, 1 * MiB, 5 * MiB, { flags: ['bios_grub'] }),
    part('/boot/efi', 2, 5 * MiB, 516 * MiB, {
      flags: ['esp'],
      filesystem: { type: 'vfat', fstab: { options: 'defaults,noatime', dump: 0, fsck: 2 } },
    }),
    part('/boot', 1, 516 * MiB, 1284 * MiB, { filesystem: fs('ext4', 2) }),
  ];
}

export function xfsLayout(capacity = 4 * GiB): Partition[] {
  return [
    part('none', 99, 1 * MiB, 3 * MiB, { flags: ['bios_grub'] }),
    part('/boot/efi', 1, 3 * MiB, 131 * MiB, {
      flags: ['esp'],
      filesystem: { type: 'vfat', fstab: { options: 'umask=0077', dump: 0, fsck: 2 } },
    }),
    {
      ...part('/', 0, 131 * MiB, capacity),
      part_end: '100%',
      filesystem: { type: 'xfs', fstab: { options: 'defaults,noatime', dump: 0, fsck: 1 } },
    },
  ];
}

const made: string[] = [];
// Registered while the importing test file is collected, so it runs when that file is done; bench/cut imports
// this file outside vitest and removes its work folder itself.
if (process.env.VITEST) afterAll(() => dropFixtureFolders());

/** Removes the manifests folders `cutTestConfig` wrote. */
export function dropFixtureFolders(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes a bundle folder tree (qcow-vars.yaml markers) and returns the config that describes it. */
export function cutTestConfig(
  over: {
    imageRef?: string;
    settings?: Partial<Settings>;
    bundles?: Record<string, Partition[]>;
    compress?: boolean;
  } = {},
): BuildConfig {
  const root = mkdtempSync(join(tmpdir(), 'cut-manifests-'));
  made.push(root);
  const bundles = over.bundles ?? { 'control-plane': controlPlaneLayout(), 'data-plane': xfsLayout() };
  const qcowBundles: QcowBundle[] = Object.entries(bundles).map(([name, partitions]) => {
    const dir = join(root, 'qcow-bundle', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'qcow-vars.yaml'), '# test bundle\n');
    return {
      name,
      dir,
      osconfig: osconfig(),
      qcow: {
        img_name: `${name}.qcow2`,
        qcow_capacity: '4G',
        capacity_bytes: 4 * GiB,
        qcow_compress: over.compress ?? true,
        qcow_compression_type: name === 'data-plane' ? 'zstd' : 'zlib',
        qcow_writer: 'native',
        partitions,
        qcow_container_runtime_scripts: [],
      },
    };
  });
  const settings = { ...defaultSettings(), ...over.settings };
  return {
    settings,
    imageRef: over.imageRef ?? DEV_IMAGE,
    manifestsDir: root,
    multistrap: {} as BuildConfig['multistrap'],
    osconfig: osconfig(),
    livecdcontent: {
      mksquashfs_compression: 'zstd',
      mksquashfs_threads: 0,
      squashfs_timeout: 3600,
      grub_menu_timeout: 1,
    },
    iso: {
      img_name: 'ephemeral.iso',
      user_data: '#cloud-config\n',
      network_data: { links: [], networks: [], services: [] },
      meta_data: {
        hostname: 'cut-ephemeral',
        name: 'cut-ephemeral',
        uuid: '83679162-1378-4288-a2d4-70e13ec132aa',
      },
      sources: { user_data: '(test)', network_data: '(test)', meta_data: '(test)' },
    },
    qcowBundles,
  };
}
