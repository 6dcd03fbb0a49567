import { describe, expect, it } from 'vitest';
import { load, loadErrors, scratch } from './fixtures.js';

describe('qcow_writer', () => {
  it('is the native writer unless a bundle asks for qemu-img', async () => {
    const s = await scratch({
      'qcow-bundle/a/qcow-vars.yaml': 'qcow_capacity: 4G\n',
      'qcow-bundle/b/qcow-vars.yaml': 'qcow_writer: qemu-img\n',
    });
    try {
      const { config } = await load({ workdir: s.dir });
      expect(config.qcowBundles.map((b) => [b.name, b.qcow.qcow_writer])).toEqual([
        ['a', 'native'],
        ['b', 'qemu-img'],
      ]);
    } finally {
      await s.cleanup();
    }
  });

  it('names the file, key and line:column of an unknown writer', async () => {
    const s = await scratch({ 'qcow-bundle/x/qcow-vars.yaml': 'qcow_capacity: 4G\nqcow_writer: vmdk\n' });
    try {
      const diags = await loadErrors({ workdir: s.dir });
      expect(diags).toHaveLength(1);
      expect(diags[0]).toMatchObject({ key: 'qcow_writer', position: { line: 2, column: 14 } });
      expect(diags[0]!.file).toMatch(/qcow-bundle\/x\/qcow-vars\.yaml$/);
      expect(diags[0]!.message).toBe('expected native or qemu-img, got "vmdk"');
    } finally {
      await s.cleanup();
    }
  });
});
