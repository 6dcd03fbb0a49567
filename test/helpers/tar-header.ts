/** A tar header as TarReader returns it: a regular file of no bytes owned by root, fields replaced by `over`. */
import type { TarHeader } from '../../src/squashfs/tar-reader.js';

export function tarHeader(over: Partial<TarHeader> = {}): TarHeader {
  return {
    name: Buffer.from('f'),
    linkname: Buffer.alloc(0),
    type: '0',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    devmajor: 0,
    devminor: 0,
    pax: new Map(),
    ...over,
  };
}
