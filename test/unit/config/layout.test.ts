/**
 * The original's layout and Make variables: where PROFILE is found, QCOW_BUNDLE as a name or a path,
 * QCOW_BUNDLE_DIRS as a list of bundle folders (QCOW_NAMES selecting images), IMAGE; every invalid or
 * ambiguous form refused with the variable named and what was expected.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listBundleFolders, profileCandidates } from '../../../src/config/locate.js';
import { imageReference, qcowImageReference, resolveSettings } from '../../../src/config/settings.js';
import { formatDiagnostic } from '../../../src/errors.js';
import { load, loadErrors } from './fixtures.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

/** A scratch tree: `files` maps paths below a fresh temp root to their content. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ib-layout-'));
  roots.push(root);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), content);
  }
  return root;
}

const LC = 'rootfs/livecdcontent-vars.yaml';

describe('settings: the new variable forms', () => {
  it('reads IMAGE, QCOW_NAMES and QCOW_BUNDLE_DIRS (names and relative paths)', () => {
    const s = resolveSettings(
      {
        IMAGE: 'registry.local:5000/site/image-builder:v1-debian_bookworm',
        QCOW_NAMES: 'control-plane,data-plane',
        QCOW_BUNDLE_DIRS: 'qcow-bundle sub/qcow-bundle-x',
      },
      {},
    );
    expect(s.image).toBe('registry.local:5000/site/image-builder:v1-debian_bookworm');
    expect(s.qcowNames).toEqual(['control-plane', 'data-plane']);
    expect(s.qcowBundleDirs).toEqual(['qcow-bundle', 'sub/qcow-bundle-x']);
  });

  it('IMAGE replaces the composed reference; bundle images are named by the folder', () => {
    const s = resolveSettings({ IMAGE: 'localhost/x/base:7' }, {});
    expect(imageReference(s)).toBe('localhost/x/base:7');
    expect(imageReference(resolveSettings({}, {}))).toBe(
      'localhost/airshipit/image-builder:latest-debian_bookworm',
    );
    expect(qcowImageReference(s, 'sub/qcow-bundle-k8s')).toBe(
      'localhost/airshipit/qcow-bundle-k8s:latest-debian_bookworm',
    );
  });

  it.each([
    [
      { IMAGE: 'Local/Upper:tag' },
      'environment variable IMAGE: expected an image reference such as registry:5000/prefix/image-builder:tag, got "Local/Upper:tag"',
    ],
    [{ IMAGE: 'a b' }, 'environment variable IMAGE: expected an image reference'],
    [
      { QCOW_BUNDLE_DIRS: 'qcow-bundle ../elsewhere' },
      'environment variable QCOW_BUNDLE_DIRS: expected bundle folders inside the manifests folder (names, or relative paths without "." or ".." parts), got "../elsewhere"',
    ],
    [{ QCOW_BUNDLE_DIRS: '/abs/qcow-bundle' }, 'QCOW_BUNDLE_DIRS: expected bundle folders'],
    [{ QCOW_BUNDLE_DIRS: 'a/./b' }, 'QCOW_BUNDLE_DIRS: expected bundle folders'],
    [
      { QCOW_NAMES: 'control-plane,x/y' },
      'environment variable QCOW_NAMES: expected sub-folder names of the bundle (letters, digits, ".", "_", "-"), got "x/y"',
    ],
    [{ QCOW_NAMES: '..' }, 'QCOW_NAMES: expected sub-folder names'],
  ])('refuses %j naming the variable and what was expected', (env, message) => {
    expect(() => resolveSettings(env, {})).toThrow(message);
  });

  it('names the flag when the value came from one', () => {
    expect(() => resolveSettings({}, { image: 'UPPER' })).toThrow(
      'option --image: expected an image reference',
    );
  });
});

describe('PROFILE: where profiles/ is found', () => {
  it('looks beside the manifests folder, beside its parent, then in the bundled profiles', () => {
    const c = profileCandidates('/site/images/manifests', '/pkg/defaults/manifests');
    expect(c.user).toEqual(['/site/images/profiles', '/site/profiles']);
    expect(c.bundled).toBe('/pkg/defaults/profiles');
  });

  it('finds profiles/ beside the manifests folder (the original layout)', async () => {
    const root = await tree({
      [`manifests/${LC}`]: 'grub_menu_timeout: 3\n',
      [`profiles/fast/manifests/${LC}`]: 'mksquashfs_compression: lz4\n',
    });
    const { config } = await load({ workdir: join(root, 'manifests'), profile: 'fast' });
    expect(config.livecdcontent.mksquashfs_compression).toBe('lz4');
  });

  it("finds profiles/ beside the manifests folder's parent", async () => {
    const root = await tree({
      [`site/manifests/${LC}`]: 'grub_menu_timeout: 3\n',
      [`profiles/fast/manifests/${LC}`]: 'mksquashfs_compression: lz4\n',
    });
    const { config } = await load({ workdir: join(root, 'site/manifests'), profile: 'fast' });
    expect(config.livecdcontent.mksquashfs_compression).toBe('lz4');
    expect(config.livecdcontent.grub_menu_timeout).toBe(3);
  });

  it('refuses a profile found in both places, naming both', async () => {
    const root = await tree({
      [`site/manifests/${LC}`]: 'grub_menu_timeout: 3\n',
      [`site/profiles/fast/manifests/${LC}`]: 'mksquashfs_compression: lz4\n',
      [`profiles/fast/manifests/${LC}`]: 'mksquashfs_compression: xz\n',
    });
    const d = await loadErrors({ workdir: join(root, 'site/manifests'), profile: 'fast' });
    expect(d).toHaveLength(1);
    expect(d[0]!.key).toBe('PROFILE');
    expect(d[0]!.message).toBe(
      `profile "fast" is ambiguous: found in ${join(root, 'site/profiles/fast/manifests')} and ${join(root, 'profiles/fast/manifests')}; keep one of them`,
    );
  });

  it('falls back to the bundled profiles folder', async () => {
    const root = await tree({
      [`manifests/${LC}`]: 'grub_menu_timeout: 3\n',
      [`bundled/profiles/ours/manifests/${LC}`]: 'mksquashfs_compression: gzip\n',
      'bundled/manifests/rootfs/.keep': '',
    });
    const { bundledManifestsDir } = await import('../../../src/config/load.js');
    const { cp } = await import('node:fs/promises');
    await cp(bundledManifestsDir(), join(root, 'bundled/manifests'), { recursive: true });
    const { config } = await load(
      { workdir: join(root, 'manifests'), profile: 'ours' },
      { bundledDir: join(root, 'bundled/manifests') },
    );
    expect(config.livecdcontent.mksquashfs_compression).toBe('gzip');
  });

  it.each(['k8s/../../etc', 'a/b', '..', '.'])('refuses PROFILE=%s as not a name', async (name) => {
    const root = await tree({ [`manifests/${LC}`]: 'grub_menu_timeout: 3\n' });
    const d = await loadErrors({ workdir: join(root, 'manifests'), profile: name });
    expect(formatDiagnostic(d[0]!)).toContain(
      `(--profile, environment variable PROFILE): PROFILE: "${name}" is not a profile name: expected a folder name of profiles/`,
    );
  });

  it('says where it looked when the profile is missing', async () => {
    const root = await tree({
      [`site/manifests/${LC}`]: 'grub_menu_timeout: 3\n',
      [`site/profiles/k8s-1.21/manifests/${LC}`]: 'grub_menu_timeout: 4\n',
    });
    const d = await loadErrors({ workdir: join(root, 'site/manifests'), profile: 'k8s-1.12' });
    expect(d[0]!.message).toContain(
      `profile "k8s-1.12" not found (did you mean "k8s-1.21"?) in ${join(root, 'site/profiles')}, ${join(root, 'profiles')}`,
    );
  });
});

describe('QCOW_BUNDLE and QCOW_BUNDLE_DIRS', () => {
  const bundles = {
    [`manifests/${LC}`]: 'grub_menu_timeout: 3\n',
    'manifests/qcow-bundle/control-plane/qcow-vars.yaml': 'qcow_capacity: 19G\n',
    'manifests/qcow-bundle/data-plane/qcow-vars.yaml': 'qcow_capacity: 19G\n',
    'manifests/qcow-bundle-k8s/worker/qcow-vars.yaml': 'qcow_capacity: 21G\n',
    'manifests/qcow-bundle-k8s/control-plane/qcow-vars.yaml': 'qcow_capacity: 22G\n',
    'outside/qcow-bundle-x/a/qcow-vars.yaml': 'qcow_capacity: 5G\n',
  };

  it('takes QCOW_BUNDLE as a path to a folder inside the manifests folder', async () => {
    const root = await tree(bundles);
    const { config } = await load({
      workdir: join(root, 'manifests'),
      qcowBundle: join(root, 'manifests/qcow-bundle-k8s'),
    });
    expect(config.qcowBundles.map((b) => [b.folder, b.name, b.outSub])).toEqual([
      ['qcow-bundle-k8s', 'control-plane', ''],
      ['qcow-bundle-k8s', 'worker', ''],
    ]);
  });

  it('cuts each folder of QCOW_BUNDLE_DIRS into its own output sub-folder', async () => {
    const root = await tree(bundles);
    const { config } = await load({
      workdir: join(root, 'manifests'),
      qcowBundleDirs: ['qcow-bundle', 'qcow-bundle-k8s'],
      qcowNames: ['control-plane', 'worker'],
    });
    expect(config.qcowBundles.map((b) => `${b.outSub}/${b.name}:${b.qcow.qcow_capacity}`)).toEqual([
      'qcow-bundle/control-plane:19G',
      'qcow-bundle-k8s/control-plane:22G',
      'qcow-bundle-k8s/worker:21G',
    ]);
    expect(await listBundleFolders(join(root, 'manifests'))).toEqual(['qcow-bundle', 'qcow-bundle-k8s']);
  });

  it('refuses a QCOW_BUNDLE path outside the manifests folder', async () => {
    const root = await tree(bundles);
    const d = await loadErrors({
      workdir: join(root, 'manifests'),
      qcowBundle: join(root, 'outside/qcow-bundle-x'),
    });
    expect(formatDiagnostic(d[0]!)).toBe(
      `error: ${join(root, 'outside/qcow-bundle-x')}: QCOW_BUNDLE: is outside the manifests folder ${join(root, 'manifests')}; expected a bundle folder inside it`,
    );
  });

  it('refuses a bundle folder that is a symlink out of the manifests folder', async () => {
    const root = await tree(bundles);
    await symlink(join(root, 'outside/qcow-bundle-x'), join(root, 'manifests/qcow-bundle-link'));
    for (const s of [
      { qcowBundle: 'qcow-bundle-link' },
      { qcowBundle: join(root, 'manifests/qcow-bundle-link') },
      { qcowBundleDirs: ['qcow-bundle', 'qcow-bundle-link'] },
    ]) {
      const d = await loadErrors({ workdir: join(root, 'manifests'), ...s });
      expect(d.map((x) => x.key)).toEqual(['qcowBundleDirs' in s ? 'QCOW_BUNDLE_DIRS' : 'QCOW_BUNDLE']);
      expect(d[0]!.message).toMatch(/outside the manifests folder|leads out of the manifests folder/);
    }
  });

  it('refuses a QCOW_BUNDLE path without WORKDIR', async () => {
    const d = await loadErrors({ qcowBundle: './manifests/qcow-bundle' });
    expect(d[0]!.message).toBe(
      '"./manifests/qcow-bundle" is a path, which needs WORKDIR: a bundle folder must be inside the manifests folder',
    );
  });

  it('points a QCOW_BUNDLE_DIRS value that is a QCOW image to QCOW_NAMES', async () => {
    const root = await tree(bundles);
    const d = await loadErrors({ workdir: join(root, 'manifests'), qcowBundleDirs: ['data-plane'] });
    expect(d[0]!.key).toBe('QCOW_BUNDLE_DIRS');
    expect(d[0]!.message).toContain('"data-plane" is a QCOW image of qcow-bundle: select it with QCOW_NAMES');
  });

  it('refuses a QCOW_NAMES image found in none of the folders', async () => {
    const root = await tree(bundles);
    const d = await loadErrors({ workdir: join(root, 'manifests'), qcowNames: ['wroker'] });
    expect(d[0]!.key).toBe('QCOW_NAMES');
    expect(d[0]!.message).toContain('no QCOW image folder "wroker" in qcow-bundle');
  });
});
