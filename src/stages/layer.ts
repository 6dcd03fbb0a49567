/**
 * One bundle's osconfig layer applied to its own hard-linked copy of the tree extracted once from the image.
 * The layer's tars are written by the image's own `tar`, so each entry is checked before GNU tar unpacks
 * them: a name must stay inside the tree (no `..`, not absolute), and no entry may reach its place through a
 * symlink, whether the tree already has that link or an earlier entry of the layer made it. Deleted paths are
 * removed the same way. Replaced files are unlinked first (tar's default, ImageTree.writeFile), so the shared
 * tree's inodes are never written through a link.
 */
import { createReadStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { needsFakeroot } from '../engine/tar-extract.js';
import { BuildError } from '../errors.js';
import { entryPath } from '../squashfs/tar-checks.js';
import { ByteReader, TarReader } from '../squashfs/tar-reader.js';
import type { OsconfigLayer } from './osconfig.js';
import { ImageTree } from './tree-fs.js';
import { forgetPath, loadTreeXattrs, saveTreeXattrs, unpackTar, xattrsFileOf } from './tree-xattrs.js';

/** Entry types GNU tar unpacks as themselves: files, hard links, symlinks, devices, folders, fifos. */
const TYPES = new Set(['0', '\0', '1', '2', '3', '4', '5', '6', '7']);

/** True when `rel` is `excluded` or lies below one of its paths. */
const under = (rel: string, excluded: readonly string[]) =>
  excluded.some((e) => rel === e || rel.startsWith(`${e}/`));

/**
 * Refuses `rel` when a folder on its way is a symlink (in the tree, or made by the layer: `links`) or not a
 * folder. @throws BuildError naming the layer entry.
 */
function checkParents(img: ImageTree, rel: string, links: Set<string>, what: string): void {
  const parts = rel.split('/');
  for (let n = 1; n < parts.length; n++) {
    const dir = parts.slice(0, n).join('/');
    if (links.has(dir))
      throw new BuildError(
        `osconfig layer: ${what} /${rel} lies below /${dir}, which the layer made a symlink`,
      );
    const st = img.lstat(dir);
    if (st && !st.isDirectory())
      throw new BuildError(
        `osconfig layer: ${what} /${rel} lies below /${dir}, which is ${st.isSymbolicLink() ? 'a symlink' : 'not a folder'}`,
      );
  }
}

/**
 * Adds to `touched` the tree-relative name of every entry of `tar` that is not excluded.
 * @throws BuildError naming the first entry of `tar` that must not be unpacked into the tree.
 */
async function checkTar(
  img: ImageTree,
  tar: string,
  excluded: readonly string[],
  touched: string[],
): Promise<void> {
  const links = new Set<string>();
  const reader = new TarReader(new ByteReader(createReadStream(tar), 60_000));
  for (let h = await reader.next(); h; h = await reader.next()) {
    const p = entryPath(h.name);
    if ('error' in p)
      throw new BuildError(`osconfig layer: entry ${JSON.stringify(h.name.toString())}: ${p.error}`);
    if (!TYPES.has(h.type))
      throw new BuildError(
        `osconfig layer: entry /${p.rel} has the unknown tar type ${JSON.stringify(h.type)}`,
      );
    if (!under(p.rel, excluded)) {
      touched.push(p.rel);
      checkParents(img, p.rel, links, 'entry');
      if (h.type === '1') {
        const t = entryPath(h.linkname);
        if ('error' in t) throw new BuildError(`osconfig layer: hard link /${p.rel}: target ${t.error}`);
        checkParents(img, t.rel, links, `hard link /${p.rel} to`);
      }
      if (h.type === '2') links.add(p.rel);
      else links.delete(p.rel);
    }
    await reader.skipData(h.size);
    await reader.endEntry();
  }
}

/**
 * Applies `layer` to the tree at `root`: removes its deleted paths, then unpacks its tars (owners, modes,
 * xattrs kept; under fakeroot with `stateFile` when not root). `excluded` are tree-relative paths left out.
 * @returns the tree-relative paths the layer deleted or wrote
 * @throws BuildError naming the entry or path refused, or tar's message.
 */
export async function applyLayer(
  root: string,
  layer: OsconfigLayer,
  o: { stateFile: string; excluded: readonly string[]; logFile?: string; signal?: AbortSignal },
): Promise<string[]> {
  const img = ImageTree.open(root);
  const touched: string[] = [];
  try {
    for (const abs of [...layer.deleted].sort()) {
      const p = entryPath(Buffer.from(abs.replace(/^\/+/, ''), 'latin1'));
      if ('error' in p)
        throw new BuildError(`osconfig layer: deleted path ${JSON.stringify(abs)}: ${p.error}`);
      if (!p.rel || under(p.rel, o.excluded)) continue;
      touched.push(p.rel);
      checkParents(img, p.rel, new Set(), 'deleted path');
      // Parents are real folders (checked above); rm removes a symlink as a link.
      if (img.lstat(p.rel)) rmSync(join(root, p.rel), { recursive: true, force: true });
    }
    if (needsFakeroot()) {
      const side = xattrsFileOf(o.stateFile);
      const x = loadTreeXattrs(side);
      for (const abs of layer.deleted) forgetPath(x, abs.replace(/^\/+/, ''));
      saveTreeXattrs(side, x);
    }
    for (const tar of layer.tars) {
      await checkTar(img, tar, o.excluded, touched);
      await unpackTar(createReadStream(tar), root, {
        stateFile: o.stateFile,
        exclude: o.excluded.flatMap((e) => [e, `./${e}`]),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    }
    return touched;
  } finally {
    img.close();
  }
}
