import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../src/config/redact.js';
import { parseYamlSource } from '../../../src/config/yaml-source.js';
import { AIRSHIP, airshipWithRoleDefaults, FIXTURES, load, loadErrors } from './fixtures.js';

const MANIFESTS = join(AIRSHIP, 'manifests');

describe('the original airship manifests', () => {
  it('load as they are, over the bundled defaults', async () => {
    const { config, warnings } = await load({ workdir: MANIFESTS });
    expect(warnings).toEqual([]);
    expect(config.manifestsDir).toBe(MANIFESTS);
    expect(config.qcowBundles.map((b) => b.name)).toEqual(['control-plane', 'data-plane']);
    // Their multistrap file holds only comments, so the bundled Debian repos apply, from the host's mirror.
    expect(config.multistrap.repos[0]).toMatchObject({
      name: 'Debian',
      source: 'http://mirror.example.org/debian',
      suite: 'bookworm',
    });
    expect(config.multistrap.repos[0]!.packages).toContain('linux-image-amd64');
    expect(config.iso.meta_data.hostname).toBe('ephemeral');
    expect(config.iso.user_data.startsWith('#cloud-config')).toBe(true);
    expect(config.iso.sources.user_data).toBe(join(MANIFESTS, 'iso/user_data'));
  });

  it('follow the one-line reference from data-plane/qcow-vars.yaml to control-plane', async () => {
    const { config } = await load({ workdir: MANIFESTS, qcowBundle: 'qcow-bundle-subcluster' });
    const [cp, dp] = config.qcowBundles;
    expect(dp!.qcow.partitions).toEqual(cp!.qcow.partitions);
    expect(dp!.qcow.img_name).toBe('data-plane.qcow2');
    expect(dp!.dir).toBe(join(MANIFESTS, 'qcow-bundle-subcluster/data-plane'));
  });

  it.each([
    ['k8s-1.18', '1.18.20-00'],
    ['k8s-1.19', '1.19.14-00'],
    ['k8s-1.21', '1.21.2-00'],
  ])('with profile %s and DISTRO=ubuntu_focal install Kubernetes %s', async (profile, version) => {
    const { config } = await load({ workdir: MANIFESTS, profile, distro: 'ubuntu_focal' });
    expect(config.multistrap.extra.k8s_version).toBe(version);
    expect(config.multistrap.repos.find((r) => r.name === 'Kubernetes')!.packages).toContain(
      `kubelet=${version}`,
    );
  });

  it('with a k8s profile on the Debian defaults (no Kubernetes repo) refuse k8s_version: it would install nothing', async () => {
    const errors = await loadErrors({ workdir: MANIFESTS, profile: 'k8s-1.19' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key: 'k8s_version' });
    expect(errors[0]!.file).toContain('profiles/k8s-1.19/manifests/rootfs/multistrap-vars.yaml');
    expect(errors[0]!.message).toContain('no repo installs Kubernetes');
  });

  it('load with the role defaults copied in: Ubuntu repos are kept and reported, k8s_version reaches packages', async () => {
    const { dir, cleanup } = await airshipWithRoleDefaults();
    try {
      const { config, warnings } = await load({ workdir: dir, profile: 'k8s-1.18' });
      const names = config.multistrap.repos.map((r) => r.name);
      expect(names).toEqual(['Ubuntu', 'Ubuntu-Updates', 'Ubuntu-Security', 'Docker', 'Kubernetes']);
      const k8s = config.multistrap.repos.find((r) => r.name === 'Kubernetes')!;
      expect(k8s.packages).toEqual(['kubelet=1.18.20-00', 'kubeadm=1.18.20-00', 'kubectl=1.18.20-00']);
      const ubuntu = config.multistrap.repos[0]!;
      expect(ubuntu.packages).toContain('linux-image-generic');
      expect(ubuntu.components).toEqual(['main', 'restricted', 'universe']);
      expect(config.multistrap.repos[1]!.omitdebsrc).toBe(true);
      expect(config.multistrap.unreachable_hints[0]).toBe(
        'repo Ubuntu (http://ubuntu.mirror.example.org/ubuntu/, focal) needs an Ubuntu mirror; this machine reaches only its own apt sources',
      );
      expect(warnings.some((w) => w.key === 'repos[0].source' && w.position?.line === 88)).toBe(true);
      // The original's osconfig defaults: templates resolved, loose YAML normalised.
      expect(config.osconfig.systemd[0]).toMatchObject({
        name: 'sample.service',
        enabled: true,
        force: false,
      });
      expect(config.osconfig.file_permissions[0]).toMatchObject({
        permissions: '0700',
        run_contexts: ['common'],
      });
      expect(config.osconfig.limits[0]!.value).toBe('0');
      expect(config.osconfig.user_management[0]!.password_lock).toBe(true);
      expect(config.livecdcontent.mksquashfs_threads).toBe(0);
      // qcow.yaml: 19G, and data-plane reaches it through its reference file.
      expect(config.qcowBundles[1]!.qcow.capacity_bytes).toBe(19 * 2 ** 30);
      expect(config.qcowBundles[0]!.qcow.partitions[0]).toMatchObject({
        mount: '/',
        start_bytes: 1284 * 2 ** 20,
        end_bytes: 19 * 2 ** 30,
      });
      // Paths of the original's container, at the original's values, are what happens here: no finding.
      expect(warnings.map((w) => w.key)).not.toEqual(expect.arrayContaining(['rootfs_root']));
      expect(warnings.map((w) => w.key)).not.toEqual(expect.arrayContaining(['nbd_build_dir']));
      // qcow_container_runtime_scripts run in the QCOW's osconfig pass.
      expect(config.qcowBundles[0]!.osconfig.user_scripts.at(-1)).toEqual({
        file_content: '#!/bin/bash\necho "custom qcow post-install script"\n',
        run_contexts: ['qcow'],
      });
    } finally {
      await cleanup();
    }
  });

  it('role-defaults/iso.yaml is valid YAML of variables (it has no place in the manifests layout)', async () => {
    const text = await readFile(join(AIRSHIP, 'role-defaults/iso.yaml'), 'utf8');
    const src = parseYamlSource(text, 'iso.yaml');
    expect(src.problems).toEqual([]);
    expect(src.vars.img_name).toBe('ephemeral.iso');
  });
});

describe('bundled defaults', () => {
  it('are used alone when no folder is given, and build Debian 12 from the host mirror', async () => {
    const { config, warnings } = await load();
    expect(warnings).toEqual([]);
    expect(config.manifestsDir).toBeNull();
    expect(config.imageRef).toBe('localhost/airshipit/image-builder:latest-debian_bookworm');
    expect(config.multistrap.repos.map((r) => [r.name, r.source, r.suite])).toEqual([
      ['Debian', 'http://mirror.example.org/debian', 'bookworm'],
      ['Debian-Updates', 'http://mirror.example.org/debian', 'bookworm-updates'],
      ['Debian-Security', 'http://security.example.org/debian-security', 'bookworm-security'],
    ]);
    expect(config.multistrap.repos[0]!.keyring_file).toBe('/usr/share/keyrings/debian-archive-keyring.gpg');
    expect(config.multistrap.unreachable_hints).toEqual([]);
    expect(config.multistrap.unapproved_packages).toEqual(['unattended-upgrades', 'systemd-timesyncd']);
    expect(config.livecdcontent.mksquashfs_compression).toBe('lz4');
    expect(config.iso.meta_data.hostname).toBe('ephemeral');
    const cp = config.qcowBundles.find((b) => b.name === 'control-plane')!;
    expect(cp.qcow.capacity_bytes).toBe(19 * 2 ** 30);
    expect(cp.qcow.partitions.map((p) => p.mount)).toEqual(['/', 'none', '/boot/efi', '/boot']);
    expect(config.osconfig.files[0]!.run_contexts).toEqual(['common']);
  });

  it('survive a JSON round trip', async () => {
    const { config } = await load({ workdir: join(FIXTURES, 'custom') });
    expect(JSON.parse(JSON.stringify(config))).toStrictEqual(config);
  });

  it('print without secrets', async () => {
    const { config } = await load({
      workdir: join(FIXTURES, 'custom'),
      proxy: 'http://user:pw@proxy.example.org:3128',
    });
    const safe = JSON.stringify(redactSecrets(config));
    expect(safe).not.toContain('$6$notreal$hash');
    expect(safe).not.toContain('user:pw');
    expect(config.osconfig.user_management[0]!.password).toBe('$6$notreal$hash');
  });
});
