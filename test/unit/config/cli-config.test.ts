import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../../helpers/cli.js';
import { AIRSHIP, FIXTURES } from './fixtures.js';

const MANIFESTS = relative(ROOT, join(AIRSHIP, 'manifests'));

describe('image-builder config', () => {
  it('--json prints the merged configuration of the original manifests', () => {
    const r = runCli(['config', '--json', '--workdir', MANIFESTS, '--profile', 'k8s-1.19']);
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.status).toBe(0);
    const config = JSON.parse(r.stdout);
    expect(config.manifestsDir).toBe(MANIFESTS);
    expect(config.multistrap.extra.k8s_version).toBe('1.19.14-00');
    expect(config.qcowBundles.map((b: { name: string }) => b.name)).toEqual(['control-plane', 'data-plane']);
    expect(config.multistrap.repos[0].packages).toContain('cloud-init');
    // The host's own mirror, never a name written in the repository.
    expect(config.multistrap.repos[0].source).toMatch(/^https?:\/\//);
  });

  it('prints YAML by default, with passwords masked', () => {
    const r = runCli(['config', '--workdir', relative(ROOT, join(FIXTURES, 'custom'))]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('imageRef: localhost/airshipit/image-builder:latest-debian_bookworm');
    expect(r.stdout).not.toContain('$6$notreal$hash');
  });

  it('validate exits 2 naming file:line:column on a broken folder', () => {
    const dir = relative(ROOT, join(FIXTURES, 'broken/misspelt-permissions/manifests'));
    const r = runCli(['config', 'validate', '--workdir', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      `error: ${dir}/rootfs/osconfig-vars.yaml:4:5: files[0].permisions: unknown key "permisions" (did you mean "permissions"?)`,
    );
  });

  it('validate takes WORKDIR from the environment', () => {
    const dir = relative(ROOT, join(FIXTURES, 'broken/misspelt-permissions/manifests'));
    const r = runCli(['config', 'validate'], { WORKDIR: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`error: ${dir}/rootfs/osconfig-vars.yaml:4:5: files[0].permisions:`);
  });
});
