/**
 * The bundled `k8s-*` profiles (the original's profile names): on the default distro they add the original's
 * Kubernetes repository by downloaded key with that profile's version; on ubuntu_focal (whose defaults carry
 * the repositories) only the version; a user's own profile of the same name wins; the default build has no
 * repository beyond this machine's apt sources.
 */
import { describe, expect, it } from 'vitest';
import { load, scratch } from './fixtures.js';

const K8S_KEY = 'https://packages.cloud.google.com/apt/doc/apt-key.gpg';

describe('bundled k8s profiles', () => {
  it.each([
    ['k8s-1.18', '1.18.20-00'],
    ['k8s-1.19', '1.19.14-00'],
    ['k8s-1.21', '1.21.2-00'],
  ])(
    '%s adds the Kubernetes repository by keyring_url with kubelet/kubeadm/kubectl %s',
    async (profile, v) => {
      const { config } = await load({ profile });
      const k8s = config.multistrap.repos.find((r) => r.name === 'Kubernetes');
      expect(k8s).toMatchObject({
        source: 'https://apt.kubernetes.io',
        suite: 'kubernetes-xenial',
        keyring_url: K8S_KEY,
        packages: [`kubelet=${v}`, `kubeadm=${v}`, `kubectl=${v}`],
      });
      expect(k8s?.keyring_file).toBeUndefined();
      // The Debian repos are still there, first.
      expect(config.multistrap.repos[0]?.name).toBe('Debian');
    },
  );

  it('the default build needs no repository beyond the host apt sources', async () => {
    const { config } = await load({});
    expect(config.multistrap.repos.filter((r) => r.keyring_url)).toEqual([]);
    expect(config.multistrap.unreachable_hints).toEqual([]);
  });

  it('with DISTRO=ubuntu_focal the profile sets only k8s_version (the repositories are the distro defaults)', async () => {
    const plain = (await load({ distro: 'ubuntu_focal' })).config.multistrap.repos;
    const { config } = await load({ distro: 'ubuntu_focal', profile: 'k8s-1.19' });
    expect(config.multistrap.repos.map((r) => r.name)).toEqual(plain.map((r) => r.name));
    expect(config.multistrap.repos.find((r) => r.name === 'Kubernetes')?.packages).toEqual([
      'kubelet=1.19.14-00',
      'kubeadm=1.19.14-00',
      'kubectl=1.19.14-00',
    ]);
  });

  it("the user's profile of the same name wins over the bundled one", async () => {
    const s = await scratch({
      'rootfs/osconfig-vars.yaml': '',
      '../profiles/k8s-1.21/manifests/rootfs/multistrap-vars.yaml': 'debian_packages_append: [hello]\n',
    });
    try {
      const { config } = await load({ workdir: s.dir, profile: 'k8s-1.21' });
      expect(config.multistrap.repos.map((r) => r.name)).not.toContain('Kubernetes');
      expect(config.multistrap.repos[0]?.packages).toContain('hello');
    } finally {
      await s.cleanup();
    }
  });
});
