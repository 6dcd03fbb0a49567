import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { doctor } from '../../../src/api/doctor.js';
import { UsageError } from '../../../src/errors.js';

const cache = mkdtempSync(join(tmpdir(), 'doctor-cache-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe('doctor() rootfs size', () => {
  const quiet = { measure: false, environment: false } as const;

  it('uses the newest rootfs tar of a previous build when there is one', async () => {
    mkdirSync(join(cache, 'rootfs'));
    const tar = join(cache, 'rootfs', 'abc.tar');
    writeFileSync(tar, '');
    truncateSync(tar, 500e6);
    const r = await doctor({ ...quiet, settings: { cacheDir: cache } });
    expect(r.rootfs).toEqual({ bytes: 500e6, source: 'last-build', path: tar });
  });

  it('prefers the size given, and falls back to the typical size', async () => {
    expect((await doctor({ ...quiet, settings: { cacheDir: cache }, rootfsBytes: 1e9 })).rootfs).toEqual({
      bytes: 1e9,
      source: 'option',
    });
    const empty = join(cache, 'none');
    expect((await doctor({ ...quiet, settings: { cacheDir: empty } })).rootfs).toEqual({
      bytes: 840e6,
      source: 'typical',
    });
  });

  it('rejects a budget that is not a positive number', async () => {
    await expect(doctor({ ...quiet, budgetSeconds: 0 })).rejects.toBeInstanceOf(UsageError);
  });
});
