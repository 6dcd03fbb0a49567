/**
 * Extended attributes of a tree unpacked without root. fakeroot's state file keeps owners and modes but no
 * xattrs, and fakeroot 1.31 records a file whose `security.*` xattr it fakes without its file type (mke2fs
 * then skips it: "ignoring entry"). So as another user a tree is unpacked without xattrs; they are read from
 * the tar's PAX records (`SCHILY.xattr.*`) into a side file beside the state file, and set on the finished
 * ext4 by debugfs, which gives the bytes root's `mke2fs -d` writes from a tree that has them.
 */
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { extractTar, needsFakeroot } from '../engine/tar-extract.js';
import { BuildError } from '../errors.js';
import { entryPath } from '../squashfs/tar-checks.js';
import { ByteReader, type TarHeader, TarReader } from '../squashfs/tar-reader.js';

/** Tree-relative path → xattr name → value. */
export type TreeXattrs = Map<string, Map<string, Buffer>>;

const XATTR = 'SCHILY.xattr.';
const ACL = 'SCHILY.acl.';

/** The side file of a fakeroot state file. */
export const xattrsFileOf = (stateFile: string): string => `${stateFile}.xattrs.json`;

/** An entry's xattrs; refuses POSIX ACLs, which only root can unpack. @throws BuildError */
export function entryXattrs(h: TarHeader, rel: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of h.pax) {
    if (k.startsWith(ACL))
      throw new BuildError(
        `/${rel} carries a POSIX ACL (${k}), which cannot be kept without root: run the cut as root`,
      );
    if (k.startsWith(XATTR)) out.set(k.slice(XATTR.length), v);
  }
  return out;
}

/**
 * Records what one tar entry means for the tree's xattrs: an entry replaces whatever its path had.
 * @throws BuildError for an ACL
 */
export function recordEntry(x: TreeXattrs, h: TarHeader, rel: string): void {
  const attrs = entryXattrs(h, rel);
  if (attrs.size) x.set(rel, attrs);
  else x.delete(rel);
}

/**
 * Splits `tar` in two: the returned stream for GNU tar, and a reader that collects every entry's xattrs.
 * `done` settles when the reader has seen the whole archive (or the stream failed).
 */
export function teeXattrs(tar: Readable, x: TreeXattrs): { stream: Readable; done: Promise<void> } {
  const main = new PassThrough();
  const side = new PassThrough();
  tar.on('error', (e) => {
    main.destroy(e);
    side.destroy(e);
  });
  tar.pipe(main);
  tar.pipe(side);
  const done = (async () => {
    try {
      const reader = new TarReader(new ByteReader(side, 600_000));
      for (let h = await reader.next(); h; h = await reader.next()) {
        const p = entryPath(h.name);
        if (!('error' in p) && p.rel) recordEntry(x, h, p.rel);
        await reader.skipData(h.size);
        await reader.endEntry();
      }
    } finally {
      // What follows the end-of-archive marker (or an unreadable rest) goes to GNU tar only.
      tar.unpipe(side);
      side.destroy();
    }
  })();
  return { stream: main, done };
}

export function saveTreeXattrs(file: string, x: TreeXattrs): void {
  const obj: Record<string, Record<string, string>> = {};
  for (const [path, attrs] of [...x].sort(([a], [b]) => (a < b ? -1 : 1)))
    obj[path] = Object.fromEntries([...attrs].map(([k, v]) => [k, v.toString('base64')]));
  writeFileSync(file, JSON.stringify(obj));
}

/**
 * The side file's records; an empty map when there is none (a tree unpacked as root). The file may come from
 * the cut cache, so its shape is checked rather than trusted.
 * @throws BuildError naming the file when it is not what {@link saveTreeXattrs} writes
 */
export function loadTreeXattrs(file: string): TreeXattrs {
  if (!existsSync(file)) return new Map();
  const bad = (why: string): BuildError => new BuildError(`xattrs side file ${file}: ${why}`);
  let obj: unknown;
  try {
    obj = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (!isRecord(obj)) throw bad('expected an object of paths');
  const out: TreeXattrs = new Map();
  for (const [path, attrs] of Object.entries(obj)) {
    // Only the normalised tree paths saveTreeXattrs writes: a `..` or absolute path would name a file the tree
    // does not hold (looked up on the host, then set in the image).
    const p = entryPath(Buffer.from(path, 'latin1'));
    if ('error' in p || p.rel !== path || path === '')
      throw bad(`${JSON.stringify(path)}: expected a path relative to the tree, without '.' or '..'`);
    if (!isRecord(attrs)) throw bad(`${JSON.stringify(path)}: expected an object of xattr names`);
    const m = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(attrs)) {
      if (typeof v !== 'string' || !BASE64.test(v))
        throw bad(`${JSON.stringify(path)}: ${JSON.stringify(k)}: expected a base64 string`);
      m.set(k, Buffer.from(v, 'base64'));
    }
    out.set(path, m);
  }
  return out;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Forgets `rel` and everything below it (a path the layer deleted). */
export function forgetPath(x: TreeXattrs, rel: string): void {
  for (const p of [...x.keys()]) if (p === rel || p.startsWith(`${rel}/`)) x.delete(p);
}

/** debugfs takes double-quoted words; a name it cannot quote is refused rather than set on another file. */
function quoted(s: string, what: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/["\\\u0000-\u001f]/.test(s))
    throw new BuildError(
      `cannot set the xattrs of /${JSON.stringify(what)} without root: a quote, backslash or control character in ${JSON.stringify(s)}`,
    );
  return `"${s}"`;
}

/**
 * debugfs commands setting the xattrs of the files of the partition mounted at `mount` (a tree path such as
 * `/` or `/boot`) that exist in `exists`, their values written to files in `valueDir`.
 * @throws BuildError for a path debugfs cannot be given
 */
export async function ext4XattrCommands(
  x: TreeXattrs,
  mount: string,
  exists: (rel: string) => boolean,
  valueDir: string,
): Promise<string> {
  const base = mount.replace(/^\/+|\/+$/g, '');
  const lines: string[] = [];
  let n = 0;
  for (const [path, attrs] of [...x].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const rel = base === '' ? path : path.startsWith(`${base}/`) ? path.slice(base.length + 1) : null;
    if (rel === null || !exists(rel)) continue;
    for (const [name, value] of [...attrs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const file = join(valueDir, `xattr-${n++}`);
      await writeFile(file, value);
      lines.push(`ea_set -f ${quoted(file, path)} ${quoted(`/${rel}`, path)} ${quoted(name, path)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * Unpacks `tar` into `dir` like GNU tar as root: as another user under fakeroot, with the entries' xattrs kept
 * in the side file of `stateFile` (entries replace what their paths had there).
 * @throws BuildError from tar, or for an entry the side file cannot take (see {@link entryXattrs})
 */
export async function unpackTar(
  tar: Readable | { file: string },
  dir: string,
  o: { stateFile: string; exclude?: readonly string[]; signal?: AbortSignal },
): Promise<void> {
  if (!needsFakeroot()) return extractTar(tar, dir, o);
  const file = xattrsFileOf(o.stateFile);
  const x = loadTreeXattrs(file);
  // The side file is filled from the stream's headers: a file or FIFO is read here, not by tar.
  const source = 'file' in tar ? createReadStream(tar.file, { highWaterMark: 1 << 20 }) : tar;
  const { stream, done } = teeXattrs(source, x);
  await Promise.all([extractTar(stream, dir, o), done]);
  saveTreeXattrs(file, x);
}

/** Copies the side file along with a copied state file. */
export async function copyTreeXattrs(fromState: string, toState: string): Promise<void> {
  if (existsSync(xattrsFileOf(fromState))) await copyFile(xattrsFileOf(fromState), xattrsFileOf(toState));
}
