/**
 * Re-streams a tar archive with some entries dropped or replaced, without unpacking it anywhere.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

export interface TarFilter {
  /** Entry names (no leading `./` or `/`) to leave out; a name ending in `/` drops the whole tree. */
  drop: readonly string[];
  /** Regular files whose content is replaced (or added when absent), name → content. */
  replace: Readonly<Record<string, string>>;
}

function normal(name: string): string {
  return name.replace(/^\.?\/+/, '');
}

export function isDropped(name: string, drop: readonly string[]): boolean {
  const n = normal(name);
  return drop.some((d) => (d.endsWith('/') ? n === d.slice(0, -1) || n.startsWith(d) : n === d));
}

/** The filtered tar stream; errors of the source surface on it. */
export function filterTar(src: Readable, f: TarFilter): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  const out = new PassThrough();
  const pending = new Map(Object.entries(f.replace));
  extract.on('entry', (header, stream, next) => {
    const n = normal(header.name);
    if (isDropped(n, f.drop)) {
      stream.resume();
      stream.on('end', () => next());
      return;
    }
    const replacement = pending.get(n);
    if (replacement !== undefined) {
      pending.delete(n);
      stream.resume();
      stream.on('end', () => {
        const body = Buffer.from(replacement);
        pack.entry({ ...header, type: 'file', size: body.length, linkname: undefined }, body, next);
      });
      return;
    }
    const w = pack.entry(header, (err) => next(err));
    stream.pipe(w);
  });
  extract.on('finish', () => {
    for (const [name, content] of pending)
      pack.entry({ name, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }, Buffer.from(content));
    pack.finalize();
  });
  pipeline(src, extract).catch((err: Error) => out.destroy(err));
  pack.pipe(out);
  return out;
}
