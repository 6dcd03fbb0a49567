import { describe, expect, it } from 'vitest';
import { entryPath, headerProblem } from '../../../src/squashfs/tar-checks.js';
import type { TarHeader } from '../../../src/squashfs/tar-reader.js';
import { tarHeader } from '../../helpers/tar-header.js';

const path = (s: string | Buffer) => entryPath(Buffer.from(s));

const h = tarHeader;

describe('entryPath', () => {
  it('normalises ./, repeated and trailing slashes; "./" is the root', () => {
    expect(path('./a//b/./c/')).toEqual({ rel: 'a/b/c' });
    expect(path('./')).toEqual({ rel: '' });
  });

  it.each([
    ['..', "'..' component in name"],
    ['a/../b', "'..' component in name"],
    ['a/..', "'..' component in name"],
    ['/etc/passwd', 'absolute name'],
    ['', 'empty name'],
    ['a\0b', 'NUL byte in name'],
    [`d/${'x'.repeat(256)}`, 'name component of 256 bytes (at most 255)'],
  ])('refuses %j', (name, error) => {
    expect(path(name)).toEqual({ error });
  });

  it('counts bytes, not characters, and allows a long path of short components', () => {
    expect(path('é'.repeat(128))).toEqual({ error: 'name component of 256 bytes (at most 255)' });
    expect(path(`${'a'.repeat(255)}/${'b'.repeat(255)}`)).toHaveProperty('rel');
  });
});

describe('headerProblem', () => {
  it('takes the SquashFS limits inclusive', () => {
    expect(headerProblem(h({ uid: 0xffffffff, gid: 0xffffffff, mtime: 0xffffffff }))).toBeUndefined();
    expect(headerProblem(h({ type: '3', devmajor: 0xfff, devminor: 0xfffff }))).toBeUndefined();
  });

  it.each([
    [{ uid: 2 ** 32 }, 'uid 4294967296 does not fit 32 bits'],
    [{ gid: 2 ** 32 }, 'gid 4294967296 does not fit 32 bits'],
    [{ mtime: -1 }, 'mtime -1 outside 0..4294967295 (SquashFS times)'],
    [{ mode: 0o1000000 }, 'mode 1000000 is not a file mode'],
    [{ type: '4', devminor: 0x100000 }, 'device 0:1048576 does not fit (major ≤ 4095, minor ≤ 1048575)'],
    [{ type: '2' }, 'empty symlink target'],
    [{ type: '2', linkname: Buffer.alloc(4096, 0x61) }, 'symlink target of 4096 bytes (at most 4095)'],
  ] as [Partial<TarHeader>, string][])('refuses %o', (over, problem) => {
    expect(headerProblem(h(over))).toBe(problem);
  });

  it('lets a symlink target be anything but NUL: it is data inside the image', () => {
    expect(headerProblem(h({ type: '2', linkname: Buffer.from('../../../../etc/shadow') }))).toBeUndefined();
  });
});
