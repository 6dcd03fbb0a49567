import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ByteReader, TarReader } from '../../../src/squashfs/tar-reader.js';

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

function header(
  name: Buffer,
  type: string,
  size: number,
  extra: { link?: string; mode?: number } = {},
): Buffer {
  const h = Buffer.alloc(512);
  name.copy(h, 0);
  h.write(octal(extra.mode ?? 0o644, 8), 100, 'latin1');
  h.write(octal(1000, 8), 108, 'latin1');
  h.write(octal(1001, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1700000000, 12), 136, 'latin1');
  h.write(type, 156, 'latin1');
  if (extra.link) h.write(extra.link, 157, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7), 148, 'latin1');
  return h;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

describe('TarReader', () => {
  it('keeps non-UTF-8 names and binary PAX xattrs byte for byte', async () => {
    const cap = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const pax = paxRecord('SCHILY.xattr.security.capability', cap);
    const name = Buffer.from([0x62, 0x69, 0x6e, 0x2f, 0xff, 0xfe]);
    const tar = Buffer.concat([
      header(Buffer.from('PaxHeader'), 'x', pax.length),
      pad(pax),
      header(name, '0', 3, { mode: 0o4755 }),
      pad(Buffer.from('abc')),
      header(Buffer.from('hl'), '1', 0, { link: 'bin/x' }),
      Buffer.alloc(1024),
    ]);
    const r = new TarReader(new ByteReader(Readable.from([tar.subarray(0, 700), tar.subarray(700)]), 1000));
    const h = await r.next();
    expect(h?.name.equals(name)).toBe(true);
    expect(h?.mode).toBe(0o4755);
    expect(h?.uid).toBe(1000);
    expect(h?.pax.get('SCHILY.xattr.security.capability')?.equals(cap)).toBe(true);
    expect(Buffer.from((await r.reader.read(3)) as Uint8Array).toString()).toBe('abc');
    await r.endEntry();
    const link = await r.next();
    expect(link?.type).toBe('1');
    expect(link?.linkname.toString()).toBe('bin/x');
    expect(link?.pax.size).toBe(0);
    await r.endEntry();
    expect(await r.next()).toBeNull();
  });

  it('fails when the stream stalls', async () => {
    const stalled = new Readable({ read() {} });
    const r = new TarReader(new ByteReader(stalled, 50));
    await expect(r.next()).rejects.toThrow('tar stream stalled: no data for 0 s');
  });

  it('fails on a truncated archive', async () => {
    const r = new TarReader(
      new ByteReader(Readable.from([header(Buffer.from('f'), '0', 10).subarray(0, 300)]), 1000),
    );
    await expect(r.next()).rejects.toThrow('tar stream: archive truncated in a header (entry #1 at byte 0)');
  });

  it('requires the end-of-archive marker: a stream that stops at an entry boundary is truncated', async () => {
    const entry = Buffer.concat([header(Buffer.from('f'), '0', 3), pad(Buffer.from('abc'))]);
    const r = new TarReader(new ByteReader(Readable.from([entry]), 1000));
    expect((await r.next())?.name.toString()).toBe('f');
    await r.readData(new Uint8Array(3));
    await r.endEntry();
    await expect(r.next()).rejects.toThrow(
      'tar stream: archive truncated before a header: no end-of-archive marker (entry #2 at byte 1024)',
    );
  });

  it('refuses a header whose checksum does not match, naming it and its offset', async () => {
    const bad = header(Buffer.from('evil'), '0', 0);
    bad[0] = 0x45; // 'E': the stored checksum was computed over 'e'
    const good = header(Buffer.from('ok'), '0', 0);
    const r = new TarReader(new ByteReader(Readable.from([good, bad, Buffer.alloc(1024)]), 1000));
    await r.next();
    await r.endEntry();
    await expect(r.next()).rejects.toThrow('header checksum mismatch (entry #2 "Evil" at byte 512)');
  });

  it('refuses an end marker right after a long-name header, allows one after a global PAX header', async () => {
    const long = Buffer.from('some/long/name\0');
    const cut = Buffer.concat([
      header(Buffer.from('././@LongLink'), 'L', long.length),
      pad(long),
      Buffer.alloc(1024),
    ]);
    const r = new TarReader(new ByteReader(Readable.from([cut]), 1000));
    await expect(r.next()).rejects.toThrow('end-of-archive marker right after a long-name or PAX header');
    const comment = paxRecord('comment', Buffer.from('made by a tool'));
    const g = Buffer.concat([header(Buffer.from('pax_global_header'), 'g', comment.length), pad(comment)]);
    const empty = new TarReader(new ByteReader(Readable.from([g, Buffer.alloc(1024)]), 1000));
    expect(await empty.next()).toBeNull();
  });

  it('says a stream whose first block is not a header is not a tar archive', async () => {
    const r = new TarReader(new ByteReader(Readable.from([Buffer.alloc(1024, 0x1f)]), 1000));
    await expect(r.next()).rejects.toThrow('not a tar archive');
  });

  it('refuses malformed numbers instead of reading them as 0 or NaN', async () => {
    const pax = paxRecord('mtime', Buffer.from('soon'));
    const tar = Buffer.concat([
      header(Buffer.from('x'), 'x', pax.length),
      pad(pax),
      header(Buffer.from('f'), '0', 0),
    ]);
    const r = new TarReader(new ByteReader(Readable.from([tar, Buffer.alloc(1024)]), 1000));
    await expect(r.next()).rejects.toThrow('PAX mtime is not a number ("soon")');
  });
});
