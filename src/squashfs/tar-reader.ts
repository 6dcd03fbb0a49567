/**
 * A streaming tar reader keeping names, link targets and PAX values as raw bytes, so non-UTF-8 names and binary
 * xattrs such as security.capability survive. Reads ustar, GNU long names (L/K) and PAX (x/g) headers.
 */
import type { Readable } from 'node:stream';

export interface TarHeader {
  name: Buffer;
  linkname: Buffer;
  /** ustar type flag: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo. */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
  /** PAX records (including SCHILY.xattr.*), values as raw bytes. */
  pax: Map<string, Buffer>;
}

/** The stream ended in the middle of a read. */
export class StreamEndedError extends Error {
  override name = 'StreamEndedError';
}

/** Pulls exact byte counts from a stream, failing if no data arrives within `stallMs`. */
export class ByteReader {
  /** Bytes handed out so far. */
  position = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(
    stream: Readable,
    private readonly stallMs: number,
  ) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    let timer: NodeJS.Timeout | undefined;
    const stall = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`tar stream stalled: no data for ${Math.round(this.stallMs / 1000)} s`)),
        this.stallMs,
      );
    });
    try {
      const r = await Promise.race([this.it.next(), stall]);
      if (r.done) {
        this.done = true;
        return false;
      }
      const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Exactly n bytes into `dst` (or a new buffer), or null at a clean end of stream before any byte. */
  async read(n: number, dst?: Uint8Array): Promise<Uint8Array | null> {
    while (this.buffered < n) {
      if (!(await this.fill())) {
        if (this.buffered === 0) return null;
        throw new StreamEndedError(`tar stream ended early: needed ${n} bytes, got ${this.buffered}`);
      }
    }
    const out = dst ?? Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0] as Buffer;
      const take = Math.min(c.length, n - at);
      out.set(take === c.length ? c : c.subarray(0, take), at);
      at += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    this.buffered -= n;
    this.position += n;
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const step = Math.min(left, 1 << 20);
      if (!(await this.read(step))) throw new StreamEndedError('tar stream ended early');
      left -= step;
    }
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

function field(b: Buffer, off: number, len: number): Buffer {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return z < 0 ? s : s.subarray(0, z);
}

/** A header field that is not a number, or one too large to hold exactly. */
class FieldError extends Error {}

function num(b: Buffer, off: number, len: number, what: string): number {
  const first = b[off] as number;
  if (first & 0x80) {
    // GNU base-256 for values that do not fit in octal; bit 6 set is a negative number.
    if (first & 0x40) throw new FieldError(`negative ${what} field`);
    let v = first & 0x3f;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + (b[i] as number);
    if (!Number.isSafeInteger(v)) throw new FieldError(`${what} field too large`);
    return v;
  }
  const s = field(b, off, len).toString('latin1').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s))
    throw new FieldError(`${what} field is not an octal number (${JSON.stringify(s)})`);
  const v = Number.parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw new FieldError(`${what} field too large`);
  return v;
}

/** A PAX decimal value: an integer, or (mtime) a decimal fraction, which is floored. */
function paxNumber(v: Buffer, key: string, fraction: boolean): number {
  const s = v.toString('latin1');
  const re = fraction ? /^-?\d+(\.\d*)?$/ : /^\d+$/;
  if (!re.test(s)) throw new FieldError(`PAX ${key} is not a number (${JSON.stringify(s.slice(0, 40))})`);
  const n = Math.floor(Number(s));
  if (!Number.isSafeInteger(n)) throw new FieldError(`PAX ${key} too large (${s.slice(0, 40)})`);
  return n;
}

function parsePax(buf: Buffer, into: Map<string, Buffer>): void {
  let at = 0;
  // A body is padded with NULs to its declared size by some writers.
  while (at < buf.length && buf[at] !== 0) {
    const sp = buf.indexOf(0x20, at);
    const digits = sp < 0 ? '' : buf.subarray(at, sp).toString('latin1');
    const len = /^\d{1,9}$/.test(digits) ? Number(digits) : 0;
    if (len <= digits.length + 1 || at + len > buf.length || buf[at + len - 1] !== 0x0a)
      throw new FieldError(`malformed PAX record at byte ${at} of its header`);
    const rec = buf.subarray(sp + 1, at + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new FieldError(`malformed PAX record at byte ${at} of its header (no key)`);
    into.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    at += len;
  }
}

/** The header checksum: the byte sum with the checksum field counted as spaces (unsigned, or signed as old tars). */
function checksumOk(block: Buffer): boolean {
  const s = field(block, 148, 8).toString('latin1').trim();
  if (!/^[0-7]+$/.test(s)) return false;
  const want = Number.parseInt(s, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

const pad = (n: number): number => (512 - (n % 512)) % 512;

/** Largest GNU long name / long link body read into memory. */
export const MAX_LONG_NAME = 64 * 1024;
/** Largest PAX header body read into memory (xattr values can each be 64 KiB). */
export const MAX_PAX_HEADER = 8 << 20;

/**
 * A malformed or truncated archive. `ordinal` is the 1-based number of the entry being read (counting only real
 * entries, not long-name or PAX headers) and `offset` the byte offset of its header block.
 */
export class TarFormatError extends Error {
  override name = 'TarFormatError';
  constructor(
    readonly detail: string,
    readonly ordinal: number,
    readonly offset: number,
    readonly entry?: string,
  ) {
    super(
      `tar stream: ${detail} (entry #${ordinal}${entry !== undefined ? ` ${JSON.stringify(entry)}` : ''} at byte ${offset})`,
    );
  }
}

/**
 * Reads headers one at a time; after each, the caller must consume exactly `size` data bytes via `reader`
 * (then call {@link TarReader.endEntry}). The archive must end with its end-of-archive marker (two zero blocks):
 * a stream that simply stops, even at an entry boundary, is a truncated archive, not a shorter one.
 */
export class TarReader {
  private global = new Map<string, Buffer>();
  private pendingPad = 0;
  /** Real entries returned so far. */
  ordinal = 0;
  /** Byte offset of the current entry's header. */
  offset = 0;
  /** Name of the entry returned last. */
  private current: Buffer | undefined;

  constructor(readonly reader: ByteReader) {}

  /** Fails naming the entry being read (before `next` returns it) or the one returned last. */
  private fail(detail: string, entry?: Buffer, ordinal = this.ordinal + 1): never {
    throw new TarFormatError(detail, ordinal, this.offset, entry?.toString());
  }

  /** `n` bytes, failing with the entry's ordinal and offset if the stream ends first. */
  private async need(n: number, what: string, entry?: Buffer): Promise<Buffer> {
    let got: Uint8Array | null;
    try {
      got = await this.reader.read(n);
    } catch (err) {
      if (err instanceof StreamEndedError) this.fail(`archive truncated in ${what}`, entry);
      throw err;
    }
    if (!got) {
      if (this.reader.position === 0) this.fail('empty stream: no tar archive (no end-of-archive marker)');
      this.fail(`archive truncated before ${what}: no end-of-archive marker`, entry);
    }
    return got as Buffer;
  }

  /** Next real entry header, or null at the end-of-archive marker. */
  async next(): Promise<TarHeader | null> {
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    const pax = new Map<string, Buffer>(this.global);
    let extended = false;
    this.offset = this.reader.position;
    for (;;) {
      const at = this.reader.position;
      const block = await this.need(512, 'a header', longName ?? pax.get('path'));
      if (block.every((x) => x === 0)) {
        this.offset = at;
        if (extended) this.fail('end-of-archive marker right after a long-name or PAX header');
        const second = await this.need(512, 'the second block of the end-of-archive marker');
        if (!second.every((x) => x === 0))
          this.fail('a lone zero block inside the archive (the end-of-archive marker is two zero blocks)');
        return null;
      }
      if (!checksumOk(block)) {
        if (at === 0)
          this.fail('not a tar archive (the first header has a bad checksum; decompress a .tar.gz first)');
        this.fail('header checksum mismatch', longName ?? field(block, 0, 100));
      }
      const type = String.fromCharCode(block[156] || 0x30);
      let size: number;
      try {
        size = num(block, 124, 12, 'size');
      } catch (err) {
        if (err instanceof FieldError) this.fail(err.message, field(block, 0, 100));
        throw err;
      }
      if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
        const cap = type === 'L' || type === 'K' ? MAX_LONG_NAME : MAX_PAX_HEADER;
        if (size > cap) this.fail(`'${type}' header of ${size} bytes (at most ${cap})`, longName);
        // A global header applies to what follows, if anything; the others belong to the next entry.
        if (type !== 'g') extended = true;
        const body = await this.need(size, `a '${type}' header body`, longName);
        await this.need(pad(size), `a '${type}' header body`, longName);
        try {
          if (type === 'L') longName = field(body, 0, body.length);
          else if (type === 'K') longLink = field(body, 0, body.length);
          else if (type === 'x') parsePax(body, pax);
          else parsePax(body, this.global);
        } catch (err) {
          if (err instanceof FieldError) this.fail(err.message, longName);
          throw err;
        }
        continue;
      }
      let name = field(block, 0, 100);
      if (block.subarray(257, 262).toString('latin1') === 'ustar') {
        const prefix = field(block, 345, 155);
        if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
      }
      const fullName = longName ?? pax.get('path') ?? name;
      let h: TarHeader;
      try {
        const paxNum = (key: string, fallback: () => number, fraction = false): number => {
          const v = pax.get(key);
          return v ? paxNumber(v, key, fraction) : fallback();
        };
        h = {
          name: fullName,
          linkname: longLink ?? pax.get('linkpath') ?? field(block, 157, 100),
          type,
          mode: num(block, 100, 8, 'mode'),
          uid: paxNum('uid', () => num(block, 108, 8, 'uid')),
          gid: paxNum('gid', () => num(block, 116, 8, 'gid')),
          size: paxNum('size', () => size),
          mtime: paxNum('mtime', () => num(block, 136, 12, 'mtime'), true),
          devmajor: num(block, 329, 8, 'devmajor'),
          devminor: num(block, 337, 8, 'devminor'),
          pax,
        };
      } catch (err) {
        if (err instanceof FieldError) this.fail(err.message, fullName);
        throw err;
      }
      this.offset = at;
      this.ordinal++;
      this.current = fullName;
      // Only regular files (and old-style '\0'/'7') carry data in the archive.
      if (h.type !== '0' && h.type !== '7') {
        if (h.size > 0) await this.skipData(h.size + pad(h.size));
        h.size = 0;
      }
      this.pendingPad = pad(h.size);
      return h;
    }
  }

  /** Skips `n` bytes of the current entry's data. */
  async skipData(n: number): Promise<void> {
    try {
      await this.reader.skip(n);
    } catch (err) {
      if (err instanceof StreamEndedError)
        this.fail('archive truncated in entry data', this.current, this.ordinal);
      throw err;
    }
  }

  /** Fills `dst` with the current entry's next data bytes. */
  async readData(dst: Uint8Array): Promise<Uint8Array> {
    try {
      if (!(await this.reader.read(dst.length, dst)) && dst.length > 0) throw new StreamEndedError('ended');
    } catch (err) {
      if (err instanceof StreamEndedError)
        this.fail('archive truncated in entry data', this.current, this.ordinal);
      throw err;
    }
    return dst;
  }

  /** Skips the padding after an entry's data. */
  async endEntry(): Promise<void> {
    await this.skipData(this.pendingPad);
    this.pendingPad = 0;
  }
}
