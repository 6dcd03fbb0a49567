import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { resolveOptions } from '../../../src/squashfs/options.js';

describe('resolveOptions', () => {
  it('uses mksquashfs defaults per compressor', () => {
    expect(resolveOptions({}, {}).cfg).toEqual({ comp: 'gzip', level: 9, blockSize: 131072 });
    expect(resolveOptions({ comp: 'zstd' }, {}).cfg.level).toBe(15);
    expect(resolveOptions({ comp: 'xz' }, {}).cfg.level).toBe(6);
    expect(resolveOptions({ comp: 'lz4' }, {}).cfg.level).toBeUndefined();
  });

  it('takes SOURCE_DATE_EPOCH for mkfs and inode times', () => {
    const r = resolveOptions({}, { SOURCE_DATE_EPOCH: '1700000000' });
    expect(r.mkfsTime).toBe(1700000000);
    expect(r.inodeTime).toBe(1700000000);
    expect(resolveOptions({}, {}).inodeTime).toBeUndefined();
  });

  it('normalises excludes', () => {
    expect([...resolveOptions({ exclude: ['/boot', './live/', 'a//b'] }, {}).excludes]).toEqual([
      'boot',
      'live',
      'a/b',
    ]);
  });

  it.each([
    [{ blockSize: 3000 }, 'block size: expected a power of two from 4096 to 1048576, got 3000'],
    [{ blockSize: 2 << 20 }, 'block size: expected a power of two from 4096 to 1048576, got 2097152'],
    [{ comp: 'zstd' as const, level: 23 }, 'level: zstd expects an integer from 1 to 22, got 23'],
    [{ comp: 'lz4' as const, level: 1 }, 'level: lz4 takes no level'],
    [{ processors: 0 }, 'processors: expected an integer from 1 to 256, got 0'],
    [{ comp: 'lzo' as never }, 'comp: expected one of gzip, xz, lz4, zstd, got lzo'],
  ])('rejects %j', (opts, message) => {
    expect(() => resolveOptions(opts, {})).toThrow(new UsageError(message));
  });

  it('rejects a malformed SOURCE_DATE_EPOCH', () => {
    expect(() => resolveOptions({}, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(UsageError);
  });
});
