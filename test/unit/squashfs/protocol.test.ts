import { describe, expect, it } from 'vitest';
import { displayPath, joinPaths, splitPaths } from '../../../src/squashfs/protocol.js';

describe('task protocol', () => {
  it('carries paths with any bytes but NUL (newlines, spaces, non-UTF-8) through one string', () => {
    const raw = [
      Buffer.from('/src/a b\nc'),
      Buffer.from([0x2f, 0x73, 0xff, 0xfe, 0x0a]),
      Buffer.from('/src/ü'),
    ];
    const paths = raw.map((b) => b.toString('latin1'));
    const back = splitPaths(joinPaths(paths)).map((p) => Buffer.from(p, 'latin1'));
    expect(back).toEqual(raw);
    expect(splitPaths(joinPaths([]))).toEqual([]);
    expect(splitPaths(joinPaths(['']))).toEqual(['']);
  });

  it('names a file by its path in the image, decoded as UTF-8, with or without a slash after the root', () => {
    const disk = Buffer.from('/var/tmp/tree/usr/share/ü.txt').toString('latin1');
    expect(displayPath(disk, Buffer.byteLength('/var/tmp/tree'))).toBe('/usr/share/ü.txt');
    expect(displayPath(disk, Buffer.byteLength('/var/tmp/tree/'))).toBe('/usr/share/ü.txt');
  });
});
