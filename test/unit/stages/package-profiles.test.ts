/**
 * The profile JSONs of a bundle image: the original's names and shape (variables at the top, `extra` ones
 * such as the package lists flattened, image_builder_image), one per QCOW, and secrets masked.
 */
import { describe, expect, it } from 'vitest';
import { redactValue } from '../../../src/config/redact.js';
import { profileFiles } from '../../../src/stages/package-qcow.js';
import { load, scratch } from '../config/fixtures.js';

describe('bundle image profiles', () => {
  it('writes profile_multistrap.json and one profile per QCOW, secrets masked', async () => {
    const hash = '$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ';
    const s = await scratch({
      'rootfs/osconfig-vars.yaml': `user_management:\n  - name: ops\n    password: "${hash}"\n    run_contexts: [common]\n`,
      'qcow-bundle/control-plane/qcow-vars.yaml': 'qcow_capacity: 21G\n',
    });
    try {
      const { config } = await load({ workdir: s.dir, image: 'localhost/x/image-builder:t' });
      const files = profileFiles(config, config.qcowBundles, redactValue);
      expect([...files.keys()]).toEqual(['profile_multistrap.json', 'profile_control-plane.json']);
      const text = [...files.values()].map((b) => b.toString()).join('\n');
      expect(text).not.toContain(hash);
      const ms = JSON.parse(files.get('profile_multistrap.json')!.toString()) as Record<string, unknown>;
      expect(ms.rootfs_arch).toBe('amd64');
      expect(Array.isArray(ms.debian_packages)).toBe(true);
      expect(ms.image_builder_image).toBe('localhost/x/image-builder:t');
      expect((ms.kdump_tools as { crashkernel: string }).crashkernel).toBe('768M');
      expect((ms.user_management as { name: string; password: string }[])[0]).toMatchObject({
        name: 'ops',
        password: '***',
      });
      const cp = JSON.parse(files.get('profile_control-plane.json')!.toString()) as Record<string, unknown>;
      expect(cp).toMatchObject({ qcow_name: 'control-plane', qcow_capacity: '21G' });
    } finally {
      await s.cleanup();
    }
  });
});
