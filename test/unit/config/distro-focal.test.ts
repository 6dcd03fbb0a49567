/**
 * DISTRO=ubuntu_focal over the original's manifests folder (its files are comments only) gives the original's
 * effective values: focal from Ubuntu's archive, Docker's and Kubernetes' repositories, the original package
 * list and osconfig defaults. test/fixtures/config/expected/ubuntu-focal-original.json holds them.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../../helpers/cli.js';
import { AIRSHIP, FIXTURES } from './fixtures.js';

interface Printed {
  multistrap: { extra: Record<string, unknown>; [k: string]: unknown };
  osconfig: { extra: unknown; [k: string]: unknown };
  livecdcontent: unknown;
  qcowBundles: {
    name: string;
    qcow: { qcow_capacity: string; partitions: { mount: string; part_start: string; part_end: string }[] };
  }[];
}

/**
 * The values that make the node: everything but the settings, paths, the display-only extras and passwords
 * (printed masked).
 */
function effective(c: Printed) {
  const { extra, ...multistrap } = c.multistrap;
  const { extra: _shown, ...rest } = c.osconfig;
  const users = rest.user_management as Record<string, unknown>[];
  const osconfig = { ...rest, user_management: users.map(({ password: _p, ...u }) => u) };
  return {
    multistrap: {
      ...multistrap,
      extra: {
        k8s_version: extra.k8s_version,
        kernel_base_pkg: extra.kernel_base_pkg,
        kernel_headers_pkg: extra.kernel_headers_pkg,
      },
    },
    osconfig,
    livecdcontent: c.livecdcontent,
    qcow: c.qcowBundles.map((b) => ({
      name: b.name,
      capacity: b.qcow.qcow_capacity,
      partitions: b.qcow.partitions.map((p) => [p.mount, p.part_start, p.part_end]),
    })),
  };
}

describe('DISTRO=ubuntu_focal config --json on the original manifests', () => {
  it('prints the original effective values (expected file)', () => {
    const r = runCli(['config', '--json', '--workdir', relative(ROOT, join(AIRSHIP, 'manifests'))], {
      DISTRO: 'ubuntu_focal',
    });
    expect(r.status, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as Printed;
    const expected = JSON.parse(
      readFileSync(join(FIXTURES, 'expected/ubuntu-focal-original.json'), 'utf8'),
    ) as ReturnType<typeof effective>;
    expect(effective(printed)).toEqual(expected);
    // The facts the issue names, read from the expected file so a regenerated file cannot drop them unseen.
    const { repos } = expected.multistrap as unknown as {
      repos: { name: string; suite: string; packages: string[] }[];
    };
    expect(repos.map((x) => `${x.name}/${x.suite}`)).toEqual([
      'Ubuntu/focal',
      'Ubuntu-Updates/focal-updates',
      'Ubuntu-Security/focal-security',
      'Docker/focal',
      'Kubernetes/kubernetes-xenial',
    ]);
    expect(repos[0]!.packages).toEqual(
      expect.arrayContaining(['linux-image-generic', 'grub2', 'kdump-tools']),
    );
    expect(repos[3]!.packages).toEqual(['docker-ce', 'docker-ce-cli', 'containerd.io']);
    expect(repos[4]!.packages).toEqual(['kubelet=1.21.2-00', 'kubeadm=1.21.2-00', 'kubectl=1.21.2-00']);
    expect(r.stderr).toContain('needs an Ubuntu mirror');
  });
});
