import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { xfsProtofile } from '../../../src/stages/xfs-proto.js';

describe('xfsProtofile', () => {
  it('describes files, folders and links, and reports names it cannot express', async () => {
    const d = mkdtempSync(join(tmpdir(), 'proto-'));
    mkdirSync(join(d, 'etc'), { mode: 0o755 });
    writeFileSync(join(d, 'etc', 'hostname'), 'x\n', { mode: 0o644 });
    symlinkSync('etc/hostname', join(d, 'link'));
    writeFileSync(join(d, 'has space'), '');
    const r = await xfsProtofile(d);
    const lines = r.text.split('\n');
    expect(lines.slice(0, 2)).toEqual(['/dev/null', '0 0']);
    expect(lines).toContain(` etc d--755 ${process.getuid?.()} ${process.getgid?.()}`);
    expect(lines).toContain(
      `  hostname ---644 ${process.getuid?.()} ${process.getgid?.()} ${join(d, 'etc', 'hostname')}`,
    );
    expect(lines.some((l) => /^ link l--777 \d+ \d+ etc\/hostname$/.test(l))).toBe(true);
    expect(r.skipped).toEqual([join(d, 'has space')]);
    expect(lines.at(-2)).toBe('$');
  });
});
