import { describe, expect, it } from 'vitest';
import { defaultSettings, imageReference, resolveSettings, SETTINGS } from '../../../src/config/settings.js';

describe('settings table', () => {
  it('maps every Make variable of the original to a setting', () => {
    const envs = SETTINGS.map((s) => s.env);
    for (const v of [
      'IMAGE_TYPE',
      'DOCKER_REGISTRY',
      'IMAGE_PREFIX',
      'IMAGE_TAG',
      'DISTRO',
      'WORKDIR',
      'PROFILE',
      'QCOW_BUNDLE',
      'QCOW_BUNDLE_DIRS',
      'SKIP_MULTISTRAP',
      'SKIP_MULTI_ROLE',
      'SKIP_OSCONFIG_ROLE',
      'SKIP_LIVECDCONTENT_ROLE',
      'PROXY',
      'NO_PROXY',
      'BOOT_TIMEOUT',
      'PUSH_IMAGE',
    ]) {
      expect(envs).toContain(v);
    }
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(SETTINGS.map((s) => s.flag)).size).toBe(SETTINGS.length);
  });

  it('defaults to debian_bookworm and the original image reference shape', () => {
    const s = defaultSettings();
    expect(s.distro).toBe('debian_bookworm');
    expect(imageReference({ ...s, dockerRegistry: 'reg.local:5000', imagePrefix: 'p', imageTag: 't' })).toBe(
      'reg.local:5000/p/image-builder:t-debian_bookworm',
    );
  });

  it('lets a flag win over env, and env over the default', () => {
    const env = {
      IMAGE_TAG: 'from-env',
      DISTRO: 'ubuntu_focal',
      SKIP_MULTI_ROLE: 'true',
      BOOT_TIMEOUT: '42',
    };
    const s = resolveSettings(env, { imageTag: 'from-flag' });
    expect(s.imageTag).toBe('from-flag');
    expect(s.distro).toBe('ubuntu_focal');
    expect(s.skipMultiRole).toBe(true);
    expect(s.bootTimeout).toBe(42);
  });

  it('splits QCOW_BUNDLE_DIRS on commas and spaces', () => {
    expect(resolveSettings({ QCOW_BUNDLE_DIRS: 'a, b c' }, {}).qcowBundleDirs).toEqual(['a', 'b', 'c']);
  });

  it('names the variable when a value is invalid', () => {
    expect(() => resolveSettings({ BOOT_TIMEOUT: 'soon' }, {})).toThrow(
      'environment variable BOOT_TIMEOUT: expected a whole number, got "soon"',
    );
    expect(() => resolveSettings({}, { imageType: 'vmdk' })).toThrow('option --type: expected iso or qcow');
    expect(() => resolveSettings({ PUSH_IMAGE: 'maybe' }, {})).toThrow('PUSH_IMAGE: expected true or false');
  });
});
