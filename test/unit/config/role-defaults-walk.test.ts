/**
 * Every variable of every role-defaults file of the original (test/fixtures/config/airship/role-defaults, a
 * copy of its Apache-2.0 data) and where it lands here. The table is the answer to "is anything of the
 * original missing or ignored": each variable is either carried by our bundled defaults with the original's
 * value (or, for DISTRO=debian_bookworm, a translation listed in docs/defaults-deviations.md) and lands in a
 * named file of the image or artifact, or is one of the original's container paths (accepted at the original's
 * value, refused at any other), or does not apply, with the reason.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../../src/api/config.js';
import { parseYamlSource } from '../../../src/config/yaml-source.js';
import { AIRSHIP, airshipWithRoleDefaults, load, loadErrors, scratch } from './fixtures.js';

interface Configs {
  /** Bundled defaults, DISTRO=debian_bookworm (the default). */
  debian: LoadedConfig['config'];
  /** Bundled defaults, DISTRO=ubuntu_focal. */
  focal: LoadedConfig['config'];
  /** The original's role defaults given as the user's files, read by our loader. */
  original: LoadedConfig['config'];
}

type Landing =
  /** Carried with the original's value by both distro sets. */
  | { kind: 'same'; lands: string; value: (c: LoadedConfig['config']) => unknown }
  /** ubuntu_focal carries the original's value; debian_bookworm a translation (docs/defaults-deviations.md). */
  | {
      kind: 'translated';
      lands: string;
      value: (c: LoadedConfig['config']) => unknown;
      debian: unknown;
    }
  /** A path inside the original's build container: its value is what happens here; another is refused. */
  | { kind: 'container path'; file: string; lands: string }
  | { kind: 'not applicable'; reason: string };

const bundle = (c: LoadedConfig['config']) => c.qcowBundles.find((b) => b.name === 'control-plane')!;
/** A repo without its host names (the fixture copy of the original names example.org hosts instead). */
const repoFacts = (c: LoadedConfig['config']) =>
  c.multistrap.repos.map(({ source, keyring_file: _k, keyring_url, ...facts }) => ({
    ...facts,
    source: new URL(source).pathname,
    ...(keyring_url ? { keyring_url: new URL(keyring_url).pathname } : {}),
  }));

const TABLE: Record<string, Record<string, Landing>> = {
  'multistrap.yaml': {
    rootfs_root: { kind: 'container path', file: 'rootfs/multistrap-vars.yaml', lands: 'the rootfs stage' },
    rootfs_arch: {
      kind: 'same',
      lands: 'mmdebstrap --architectures',
      value: (c) => c.multistrap.rootfs_arch,
    },
    k8s_version: {
      kind: 'same',
      lands: 'kubelet/kubeadm/kubectl=<version> of the Kubernetes repo (ubuntu_focal; profiles)',
      value: (c) => c.multistrap.extra.k8s_version,
    },
    kernel_base_pkg: {
      kind: 'translated',
      lands: 'the kernel package installed (/boot/vmlinuz-*)',
      value: (c) => c.multistrap.extra.kernel_base_pkg,
      debian: 'linux-image-amd64',
    },
    kernel_headers_pkg: {
      kind: 'translated',
      lands: 'the kernel headers package installed (/usr/src/linux-headers-*)',
      value: (c) => c.multistrap.extra.kernel_headers_pkg,
      debian: 'linux-headers-amd64',
    },
    systemd_nic_names_policy: {
      kind: 'same',
      lands: '/etc/systemd/network/99-default.link NamePolicy=',
      value: (c) => c.multistrap.systemd_nic_names_policy,
    },
    systemd_nic_alternative_names_policy: {
      kind: 'same',
      lands: '/etc/systemd/network/99-default.link AlternativeNamesPolicy=',
      value: (c) => c.multistrap.systemd_nic_alternative_names_policy,
    },
    multistrap_retries: {
      kind: 'same',
      lands: 'attempts of the bootstrap',
      value: (c) => c.multistrap.multistrap_retries,
    },
    multistrap_retries_delay: {
      kind: 'same',
      lands: 'seconds between attempts',
      value: (c) => c.multistrap.multistrap_retries_delay,
    },
    ubuntu_packages: {
      kind: 'translated',
      lands: 'packages installed from the first repo (dpkg -l)',
      value: (c) => c.multistrap.repos[0]!.packages,
      debian: 'debian_packages',
    },
    unapproved_packages: {
      kind: 'same',
      lands: '/etc/apt/preferences.d/airship-unapproved (Pin-Priority: -1)',
      value: (c) => c.multistrap.unapproved_packages,
    },
    repos: {
      kind: 'translated',
      lands: 'the bootstrap sources and /etc/apt/sources.list.d/* of repos registered with the rootfs',
      value: repoFacts,
      debian: ['Debian', 'Debian-Updates', 'Debian-Security'],
    },
  },
  'osconfig.yaml': {
    rootfs_root: { kind: 'container path', file: 'rootfs/osconfig-vars.yaml', lands: 'the osconfig stage' },
    default_run_context: {
      kind: 'same',
      lands: 'run_contexts of items applied in the shared base image',
      value: (c) => c.osconfig.directories[0]!.run_contexts,
    },
    qcow_run_context: {
      kind: 'same',
      lands: 'run_contexts of qcow_container_runtime_scripts, applied in each QCOW',
      value: (c) => bundle(c).osconfig.user_scripts.at(-1)!.run_contexts,
    },
    user_scripts_dir_default: {
      kind: 'container path',
      file: 'rootfs/osconfig-vars.yaml',
      lands: 'scripts/common/ of the manifests folder',
    },
    user_scripts_dir_qcow: {
      kind: 'container path',
      file: 'rootfs/osconfig-vars.yaml',
      lands: 'scripts/qcow/ of the manifests folder',
    },
    kernel: {
      kind: 'same',
      lands: '/etc/modules-load.d/airship.conf, /etc/modprobe.d/airship-blacklist.conf',
      value: (c) => c.osconfig.kernel,
    },
    banners: {
      kind: 'translated',
      lands: '/etc/issue, /etc/issue.net, /etc/update-motd.d/05-airship (update-motd.d emptied first)',
      value: (c) => c.osconfig.banners,
      debian: 'motd reads /etc/os-release',
    },
    kubelet: {
      kind: 'same',
      lands: '/etc/systemd/system/kubelet.service.d/10-airship-args.conf (when not empty)',
      value: (c) => c.osconfig.kubelet,
    },
    grub: {
      kind: 'same',
      lands: '/etc/default/grub.d/50-airship.cfg; the QCOW /boot/grub/grub.cfg (linux args, serial)',
      value: (c) => c.osconfig.grub,
    },
    kdump_tools: {
      kind: 'same',
      lands: 'crashkernel= in 50-airship.cfg and the QCOW grub.cfg',
      value: (c) => c.osconfig.kdump_tools,
    },
    limits: {
      kind: 'same',
      lands: '/etc/security/limits.d/60-airship.conf',
      value: (c) => c.osconfig.limits,
    },
    sysctl: { kind: 'same', lands: '/etc/sysctl.d/60-airship.conf', value: (c) => c.osconfig.sysctl },
    directories: { kind: 'same', lands: '/testdir', value: (c) => c.osconfig.directories },
    files: { kind: 'same', lands: '/testdir/test.sh', value: (c) => c.osconfig.files },
    systemd: {
      kind: 'same',
      lands: '/etc/systemd/system/sample.service, enabled',
      value: (c) => c.osconfig.systemd,
    },
    user_scripts: {
      kind: 'same',
      lands: 'run in the shared base image at build time (its output in the build log)',
      value: (c) => c.osconfig.user_scripts,
    },
    file_permissions: {
      kind: 'same',
      lands: 'mode 0700 of /testdir/test.sh',
      value: (c) => c.osconfig.file_permissions,
    },
    user_management: {
      kind: 'same',
      lands: '/etc/passwd and /etc/shadow entry of user test (shell /bin/false, locked)',
      value: (c) => c.osconfig.user_management,
    },
    fetch_from_url: { kind: 'same', lands: '/tmp/url_resources/', value: (c) => c.osconfig.fetch_from_url },
  },
  'livecdcontent.yaml': {
    root_chroot: {
      kind: 'container path',
      file: 'rootfs/livecdcontent-vars.yaml',
      lands: 'the livecd stage',
    },
    root_image: { kind: 'container path', file: 'rootfs/livecdcontent-vars.yaml', lands: 'the livecd stage' },
    mksquashfs_compression: {
      kind: 'same',
      lands: '/livecd/live/filesystem.squashfs compressor',
      value: (c) => c.livecdcontent.mksquashfs_compression,
    },
    mksquashfs_threads: {
      kind: 'same',
      lands: 'squashfs writer threads ({{ ansible_processor_vcpus }} = 0 = all cores)',
      value: (c) => c.livecdcontent.mksquashfs_threads,
    },
    squashfs_timeout: {
      kind: 'same',
      lands: 'seconds a squashfs write may stall',
      value: (c) => c.livecdcontent.squashfs_timeout,
    },
    grub_menu_timeout: {
      kind: 'same',
      lands: '/livecd/boot/grub/grub.cfg set timeout=',
      value: (c) => c.livecdcontent.grub_menu_timeout,
    },
  },
  'qcow.yaml': {
    src: { kind: 'container path', file: 'qcow-bundle/control-plane/qcow-vars.yaml', lands: 'cut-image' },
    dst: { kind: 'container path', file: 'qcow-bundle/control-plane/qcow-vars.yaml', lands: 'cut-image' },
    nbd_build_dir: {
      kind: 'container path',
      file: 'qcow-bundle/control-plane/qcow-vars.yaml',
      lands: 'cut-image',
    },
    img_output_dir: {
      kind: 'container path',
      file: 'qcow-bundle/control-plane/qcow-vars.yaml',
      lands: 'OUT_DIR',
    },
    img_name: {
      kind: 'translated',
      lands: 'the QCOW2 file name in OUT_DIR',
      value: (c) => bundle(c).qcow.img_name,
      debian: 'control-plane.qcow2',
    },
    qcow_capacity: {
      kind: 'same',
      lands: 'the QCOW2 virtual size (qemu-img info)',
      value: (c) => bundle(c).qcow.capacity_bytes,
    },
    qcow_compress: {
      kind: 'same',
      lands: 'compressed QCOW2 clusters',
      value: (c) => bundle(c).qcow.qcow_compress,
    },
    partitions: {
      kind: 'same',
      lands: 'the QCOW2 GPT (sfdisk -d) and /etc/fstab',
      value: (c) => bundle(c).qcow.partitions,
    },
    qcow_container_runtime_scripts: {
      kind: 'same',
      lands: 'run in the QCOW after its osconfig pass',
      value: (c) => bundle(c).qcow.qcow_container_runtime_scripts,
    },
  },
  'iso.yaml': {
    img_output_dir: {
      kind: 'not applicable',
      reason: 'the ISO is written to OUT_DIR (there is no iso vars file)',
    },
    img_name: {
      kind: 'not applicable',
      reason:
        'there is no iso vars file in the manifests layout; the ISO is ephemeral.iso, as the original named it',
    },
    root_image: { kind: 'not applicable', reason: 'cut-image reads the built image' },
    meta_data_file: { kind: 'not applicable', reason: 'iso/meta_data.json of the manifests folder' },
    user_data_file: { kind: 'not applicable', reason: 'iso/user_data of the manifests folder' },
    network_data_file: { kind: 'not applicable', reason: 'iso/network_data.json of the manifests folder' },
  },
};

async function originalVariables(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(join(AIRSHIP, 'role-defaults', file), 'utf8');
  return parseYamlSource(text, file).vars;
}

let cfg: Configs;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const original = await airshipWithRoleDefaults();
  cleanup = original.cleanup;
  cfg = {
    debian: (await load()).config,
    focal: (await load({ distro: 'ubuntu_focal' })).config,
    original: (await load({ workdir: original.dir })).config,
  };
});
afterAll(() => cleanup?.());

describe('every variable of the original role defaults', () => {
  it('is in the table, and the table names nothing the original does not have', async () => {
    const files = (await readdir(join(AIRSHIP, 'role-defaults'))).sort();
    expect(Object.keys(TABLE).sort()).toEqual(files);
    for (const file of files) {
      expect(Object.keys(TABLE[file]!).sort(), file).toEqual(
        Object.keys(await originalVariables(file)).sort(),
      );
    }
  });

  const rows = Object.entries(TABLE).flatMap(([file, vars]) =>
    Object.entries(vars).map(([name, landing]) => ({
      id: `${file} ${name}: ${landing.kind}`,
      name,
      landing,
    })),
  );

  it.each(rows)('$id', async ({ name, landing }) => {
    switch (landing.kind) {
      case 'same':
        expect(landing.value(cfg.debian), `debian_bookworm ${name}`).toEqual(landing.value(cfg.original));
        expect(landing.value(cfg.focal), `ubuntu_focal ${name}`).toEqual(landing.value(cfg.original));
        return;
      case 'translated': {
        if (name !== 'img_name') {
          expect(landing.value(cfg.focal), `ubuntu_focal ${name}`).toEqual(landing.value(cfg.original));
        }
        const ours = landing.value(cfg.debian);
        if (name === 'ubuntu_packages') {
          expect(cfg.debian.multistrap.extra.debian_packages).toEqual(ours);
        } else if (name === 'repos') {
          expect(cfg.debian.multistrap.repos.map((r) => r.name)).toEqual(landing.debian);
          expect(cfg.debian.multistrap.repos[0]!.suite).toBe('bookworm');
        } else if (name === 'banners') {
          expect(cfg.debian.osconfig.banners.login).toBe(cfg.original.osconfig.banners.login);
          expect(cfg.debian.osconfig.banners.motd).toContain('. /etc/os-release');
        } else {
          expect(ours).toEqual(landing.debian);
        }
        return;
      }
      case 'container path': {
        const { dir, cleanup: done } = await scratch({ [landing.file]: `${name}: /somewhere/else\n` });
        try {
          const errors = await loadErrors({ workdir: dir });
          expect(errors.map((e) => e.key)).toContain(name);
          expect(errors.find((e) => e.key === name)!.message).toContain('fixed path');
        } finally {
          await done();
        }
        return;
      }
      case 'not applicable':
        expect(landing.reason.length).toBeGreaterThan(0);
        return;
    }
  });

  it('debian_bookworm translates the package list: every package of the original has its Debian name or a listed reason', () => {
    const debian = new Set(cfg.debian.multistrap.extra.debian_packages as string[]);
    const renamed: Record<string, string> = {
      'linux-image-generic': 'linux-image-amd64',
      'linux-headers-generic': 'linux-headers-amd64',
      grub2: 'grub-pc-bin',
    };
    for (const p of cfg.original.multistrap.repos[0]!.packages) {
      expect(debian.has(renamed[p] ?? p), p).toBe(true);
    }
    // docker-ce, docker-ce-cli, containerd.io from Docker's repository: Debian's own packages instead.
    expect([...debian]).toEqual(expect.arrayContaining(['docker.io', 'containerd']));
  });

  it('the resolved defaults carry the original node: 7 modules, 24 sysctls, 5 limits, crashkernel 768M, 19G', () => {
    const os = cfg.debian.osconfig;
    expect(os.kernel.modules.load.map((m) => m.name)).toEqual([
      '8021q',
      'bonding',
      'ip_vs',
      'ip_vs_rr',
      'ip_vs_wrr',
      'ip_vs_sh',
      'br_netfilter',
    ]);
    expect(os.sysctl).toHaveLength(24);
    expect(os.limits).toHaveLength(5);
    expect(os.kdump_tools.crashkernel).toBe('768M');
    expect(os.grub.GRUB_CMDLINE_LINUX_DEFAULT.map((a) => `${a.name}=${a.value}`)).toEqual([
      'console=ttyS0,115200n8',
      'console=tty0',
      'amd_iommu=on',
      'intel_iommu=on',
      'iommu=pt',
      'cgroup_disable=hugetlb',
      'dpdk-socket-mem=4096,4096',
      'rcu_nocb_poll=true',
    ]);
    expect(bundle(cfg.debian).qcow.capacity_bytes).toBe(19 * 2 ** 30);
  });
});
