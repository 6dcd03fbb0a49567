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

/** Pulls exact byte counts from a stream, failing if no data arrives within `stallMs`. */
export class ByteReader {
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
        throw new Error(`tar stream ended early: needed ${n} bytes, got ${this.buffered}`);
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
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const step = Math.min(left, 1 << 20);
      if (!(await this.read(step))) throw new Error('tar stream ended early');
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

function num(b: Buffer, off: number, len: number): number {
  if (b[off] !== undefined && (b[off] as number) & 0x80) {
    // GNU base-256 for values that do not fit in octal.
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + (b[i] as number);
    return v;
  }
  const s = field(b, off, len).toString('latin1').trim();
  return s ? Number.parseInt(s, 8) : 0;
}

function parsePax(buf: Buffer, into: Map<string, Buffer>): void {
  let at = 0;
  while (at < buf.length) {
    const sp = buf.indexOf(0x20, at);
    if (sp < 0) break;
    const len = Number.parseInt(buf.subarray(at, sp).toString('latin1'), 10);
    if (!len) break;
    const rec = buf.subarray(sp + 1, at + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) into.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    at += len;
  }
}

const pad = (n: number): number => (512 - (n % 512)) % 512;

/**
 * Reads headers one at a time; after each, the caller must consume exactly `size` data bytes via `reader`
 * (then call {@link TarReader.endEntry}).
 */
export class TarReader {
  private global = new Map<string, Buffer>();
  private pendingPad = 0;

  constructor(readonly reader: ByteReader) {}

  /** Next real entry header, or null at the end of the archive. */
  async next(): Promise<TarHeader | null> {
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    const pax = new Map<string, Buffer>(this.global);
    for (;;) {
      const block = (await this.reader.read(512)) as Buffer | null;
      if (!block || block.every((x) => x === 0)) return null;
      const type = String.fromCharCode(block[156] || 0x30);
      const size = num(block, 124, 12);
      if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
        const body = (await this.reader.read(size)) as Buffer;
        await this.reader.skip(pad(size));
        if (type === 'L') longName = field(body, 0, body.length);
        else if (type === 'K') longLink = field(body, 0, body.length);
        else if (type === 'x') parsePax(body, pax);
        else parsePax(body, this.global);
        continue;
      }
      let name = field(block, 0, 100);
      if (block.subarray(257, 262).toString('latin1') === 'ustar') {
        const prefix = field(block, 345, 155);
        if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
      }
      const h: TarHeader = {
        name: longName ?? pax.get('path') ?? name,
        linkname: longLink ?? pax.get('linkpath') ?? field(block, 157, 100),
        type,
        mode: num(block, 100, 8),
        uid: pax.has('uid') ? Number(pax.get('uid')?.toString()) : num(block, 108, 8),
        gid: pax.has('gid') ? Number(pax.get('gid')?.toString()) : num(block, 116, 8),
        size: pax.has('size') ? Number(pax.get('size')?.toString()) : size,
        mtime: pax.has('mtime') ? Math.floor(Number(pax.get('mtime')?.toString())) : num(block, 136, 12),
        devmajor: num(block, 329, 8),
        devminor: num(block, 337, 8),
        pax,
      };
      // Only regular files (and old-style '\0'/'7') carry data in the archive.
      if (h.type !== '0' && h.type !== '7') {
        if (h.size > 0) await this.reader.skip(h.size + pad(h.size));
        h.size = 0;
      }
      this.pendingPad = pad(h.size);
      return h;
    }
  }

  /** Skips the padding after an entry's data. */
  async endEntry(): Promise<void> {
    await this.reader.skip(this.pendingPad);
    this.pendingPad = 0;
  }
}
