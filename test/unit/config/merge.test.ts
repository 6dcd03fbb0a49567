import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, load, loadErrors, scratch } from './fixtures.js';

const CUSTOM = join(FIXTURES, 'custom');

describe('merging a user folder over the defaults', () => {
  it('appends *_append lists and resolves templates across them', async () => {
    const { config } = await load({ workdir: CUSTOM });
    const repos = config.multistrap.repos;
    expect(repos.map((r) => r.name)).toEqual(['Debian', 'Debian-Updates', 'Debian-Security', 'Vendor']);
    // debian_packages_append reaches the bundled repo through "{{ debian_packages }}".
    expect(repos[0]!.packages.at(-1)).toBe('vim');
    expect(repos[0]!.packages).toContain('linux-image-amd64');
    expect(repos[3]).toMatchObject({
      packages: ['vendor-tools'],
      components: ['main', 'non-free'],
      keyring_file: join(CUSTOM, 'keys/vendor.gpg'),
    });
    // A variable the file does not know is fine when a template uses it.
    expect(repos[3]!.suite).toBe('bookworm');
    expect(config.multistrap.extra.vendor_suite).toBe('bookworm');
    // The bundled sysctl list stays, the user's item is added with its value as text.
    expect(config.osconfig.sysctl.at(-1)).toEqual({ name: 'vm.swappiness', value: '10' });
    expect(config.osconfig.sysctl.length).toBeGreaterThan(1);
  });

  it('replaces a list given without _append, and normalises loose YAML', async () => {
    const { config } = await load({ workdir: CUSTOM });
    expect(config.osconfig.files).toEqual([
      {
        name: '/etc/airship-release',
        file_content: 'release 2026.1',
        permissions: '0600',
        owner: 'root',
        group: 'root',
        run_contexts: ['qcow'],
      },
    ]);
    expect(config.osconfig.directories[0]).toMatchObject({
      permissions: '0755',
      run_contexts: ['common', 'qcow'],
    });
    expect(config.osconfig.user_management[0]!.password_lock).toBe(false);
    expect(config.livecdcontent).toMatchObject({
      mksquashfs_compression: 'zstd',
      mksquashfs_level: 15,
      mksquashfs_threads: 0,
    });
  });

  it('gives a bundle the rootfs osconfig plus its own, and its qcow-vars over the built-in layout', async () => {
    const { config } = await load({ workdir: CUSTOM });
    expect(config.qcowBundles.map((b) => b.name)).toEqual(['worker']);
    const w = config.qcowBundles[0]!;
    expect(w.dir).toBe(join(CUSTOM, 'qcow-bundle/worker'));
    expect(w.osconfig.files[0]!.name).toBe('/etc/airship-release');
    expect(w.osconfig.grub_cmdline_linux_default_append).toEqual([{ name: 'hugepages', value: '16' }]);
    expect(w.osconfig.grub.GRUB_CMDLINE_LINUX_DEFAULT.at(-1)).toEqual({ name: 'hugepages', value: '16' });
    expect(config.osconfig.grub.GRUB_CMDLINE_LINUX_DEFAULT.some((a) => a.name === 'hugepages')).toBe(false);
    expect(w.qcow).toMatchObject({
      img_name: 'worker-node.qcow2',
      capacity_bytes: 20 * 2 ** 30,
      qcow_compression_type: 'zstd',
    });
    expect(w.qcow.partitions.find((p) => p.mount === '/')!.end_bytes).toBe(20 * 2 ** 30);
  });

  it('lets the profile overlay win per variable and filters bundles with QCOW_NAMES', async () => {
    const s = await scratch({
      'rootfs/livecdcontent-vars.yaml': 'mksquashfs_compression: xz\ngrub_menu_timeout: 7\n',
      'qcow-bundle/a/qcow-vars.yaml': 'qcow_capacity: 4G\n',
      'qcow-bundle/b/qcow-vars.yaml': 'qcow_capacity: 5G\n',
      '../profiles/fast/manifests/rootfs/livecdcontent-vars.yaml': 'mksquashfs_compression: lz4\n',
    });
    try {
      const { config } = await load({ workdir: s.dir, profile: 'fast', qcowNames: ['b'] });
      expect(config.livecdcontent.mksquashfs_compression).toBe('lz4');
      expect(config.livecdcontent.grub_menu_timeout).toBe(7);
      expect(config.qcowBundles.map((b) => b.name)).toEqual(['b']);
    } finally {
      await s.cleanup();
    }
  });

  it('refuses an unknown top-level variable no template uses, with a did-you-mean', async () => {
    const s = await scratch({ 'rootfs/multistrap-vars.yaml': '# mine\nunapproved_pakages: [snapd]\n' });
    try {
      const errors = await loadErrors({ workdir: s.dir });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        severity: 'error',
        file: join(s.dir, 'rootfs/multistrap-vars.yaml'),
        key: 'unapproved_pakages',
        position: { line: 2, column: 1 },
      });
      expect(errors[0]!.message).toContain('did you mean "unapproved_packages"');
      expect(errors[0]!.message).toContain('no template uses it');
    } finally {
      await s.cleanup();
    }
  });

  it('keeps the default console arguments when a grub mapping leaves them out', async () => {
    const s = await scratch({ 'rootfs/osconfig-vars.yaml': 'grub:\n  GRUB_TIMEOUT: 1\n' });
    try {
      const { config } = await load({ workdir: s.dir });
      expect(config.osconfig.grub.GRUB_TIMEOUT).toBe(1);
      expect(config.osconfig.grub.GRUB_CMDLINE_LINUX_DEFAULT).toContainEqual({
        name: 'console',
        value: 'ttyS0,115200n8',
      });
    } finally {
      await s.cleanup();
    }
  });

  it('follows a symlinked qcow-vars.yaml like a reference file', async () => {
    const s = await scratch({
      'qcow-bundle/a/qcow-vars.yaml': 'qcow_capacity: 12G\n',
      'qcow-bundle/b/osconfig-vars.yaml': '{}\n',
    });
    try {
      await symlink('../a/qcow-vars.yaml', join(s.dir, 'qcow-bundle/b/qcow-vars.yaml'));
      const { config } = await load({ workdir: s.dir });
      expect(config.qcowBundles.map((b) => b.qcow.capacity_bytes)).toEqual([12 * 2 ** 30, 12 * 2 ** 30]);
    } finally {
      await s.cleanup();
    }
  });

  it('finds profiles beside a manifests folder given as "."', async () => {
    const s = await scratch({
      '../profiles/p/manifests/rootfs/multistrap-vars.yaml': 'kernel_base_pkg: linux-image-rt-amd64\n',
    });
    const cwd = process.cwd();
    try {
      process.chdir(s.dir);
      const { config } = await load({ workdir: '.', profile: 'p' });
      expect(config.multistrap.repos[0]!.packages).toContain('linux-image-rt-amd64');
    } finally {
      process.chdir(cwd);
      await s.cleanup();
    }
  });
});
