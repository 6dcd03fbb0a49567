/**
 * The cut cache on a real folder (no Docker): entries placed whole by rename, found again by image ID and
 * epoch or layer key, nothing left by a failed fill, stale entries of a reference dropped, and every way a
 * planted entry can differ from what we write refused with the entry's path.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CutCache } from '../../src/stages/cut-cache.js';

const ID = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const KEY = 'c'.repeat(64);
const image = { id: ID, ref: 'localhost/x/image-builder:t' };
const EPOCH = 1_700_000_000;

let dir = '';
let cache: CutCache;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aib-cut-cache-'));
  cache = new CutCache(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Unpacks a tiny tree: one file newer than EPOCH, one older. */
async function unpack(at: string) {
  const tree = join(at, 'tree');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'new'), 'n');
  writeFileSync(join(tree, 'etc', 'old'), 'o');
  utimesSync(join(tree, 'etc', 'old'), EPOCH - 10, EPOCH - 10);
  writeFileSync(join(at, 'fakeroot.state'), '');
  return { tree, stateFile: join(at, 'fakeroot.state') };
}

const layerMaker = async (prefix: string) => {
  writeFileSync(`${prefix}-0.tar`, Buffer.alloc(1024));
  return { deleted: ['/etc/gone'], tars: [`${prefix}-0.tar`] };
};

describe('CutCache trees', () => {
  it('places a tree whole under <id>-<epoch>, clamped to the epoch, and finds it again', async () => {
    expect(await cache.cachedTree(image, EPOCH)).toBeNull();
    const t = await cache.newTree(image, EPOCH, unpack);
    expect(t.tree).toBe(join(dir, 'cut-cache', 'trees', `${'a'.repeat(64)}-${EPOCH}`, 'tree'));
    expect(lstatSync(join(t.tree, 'etc', 'new')).mtimeMs).toBe(EPOCH * 1000);
    expect(lstatSync(join(t.tree, 'etc', 'old')).mtimeMs).toBe((EPOCH - 10) * 1000);
    expect(await cache.cachedTree(image, EPOCH)).toEqual(t);
    // Another epoch is another entry; no temp folder is left.
    expect(await cache.cachedTree(image, EPOCH + 1)).toBeNull();
    expect(readdirSync(join(dir, 'cut-cache', 'trees'))).toEqual([`${'a'.repeat(64)}-${EPOCH}`]);
  });

  it('leaves nothing when the unpack fails', async () => {
    await expect(
      cache.newTree(image, EPOCH, async (at) => {
        await unpack(at);
        throw new Error('tar died');
      }),
    ).rejects.toThrow('tar died');
    expect(readdirSync(join(dir, 'cut-cache', 'trees'))).toEqual([]);
  });

  it('uses the tree a concurrent cut placed first and drops its own', async () => {
    const [a, b] = await Promise.all([
      cache.newTree(image, EPOCH, unpack),
      cache.newTree(image, EPOCH, unpack),
    ]);
    expect(a).toEqual(b);
    expect(readdirSync(join(dir, 'cut-cache', 'trees'))).toHaveLength(1);
  });

  const entry = () => join(dir, 'cut-cache', 'trees', `${'a'.repeat(64)}-${EPOCH}`);
  it.each<[string, () => void, RegExp]>([
    [
      'entry is a symlink',
      () => {
        rmSync(entry(), { recursive: true });
        symlinkSync('/etc', entry());
      },
      /is a symlink; refused/,
    ],
    ['entry writable by others', () => chmodSync(entry(), 0o777), /is writable by others/],
    ['meta of another image', () => writeMeta({ imageId: OTHER }), /is not an entry of image/],
    ['meta not JSON', () => writeFileSync(join(entry(), 'meta.json'), '{'), /unreadable meta\.json/],
    [
      'tree is a symlink out',
      () => {
        rmSync(join(entry(), 'tree'), { recursive: true });
        symlinkSync('/', join(entry(), 'tree'));
      },
      /has a tree that is a symlink/,
    ],
    [
      'xattrs side file is a symlink',
      () => symlinkSync('/etc/shadow', join(entry(), 'fakeroot.state.xattrs.json')),
      /has an xattrs side file that is not a file/,
    ],
  ])('refuses a planted tree entry: %s', async (_what, plant, message) => {
    await cache.newTree(image, EPOCH, unpack);
    plant();
    const err = await cache.cachedTree(image, EPOCH).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(entry());
  });

  function writeMeta(over: Record<string, unknown>) {
    const meta = JSON.parse(readFileSync(join(entry(), 'meta.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(entry(), 'meta.json'), JSON.stringify({ ...meta, ...over }));
  }
});

describe('CutCache layers', () => {
  const entry = () => join(dir, 'cut-cache', 'layers', `${'a'.repeat(64)}-${KEY}`);

  it('keeps a layer by image and key, with its tars inside the entry', async () => {
    const made = await cache.layer(image, KEY, layerMaker);
    expect(made.reused).toBe(false);
    expect(made.tars).toEqual([join(entry(), 'layer-0.tar')]);
    const again = await cache.layer(image, KEY, () => Promise.reject(new Error('must not run')));
    expect(again).toEqual({ ...made, reused: true });
  });

  it('leaves nothing when the osconfig run fails', async () => {
    await expect(cache.layer(image, KEY, () => Promise.reject(new Error('ansible failed')))).rejects.toThrow(
      'ansible failed',
    );
    expect(readdirSync(join(dir, 'cut-cache', 'layers'))).toEqual([]);
  });

  it.each<[string, (meta: Record<string, unknown>) => void, RegExp]>([
    ['a tar name that climbs out', (m) => (m.tars = ['../../../../etc/passwd']), /not named layer-N\.tar/],
    ['an absolute tar name', (m) => (m.tars = ['/etc/passwd']), /not named layer-N\.tar/],
    ['deleted paths that are not strings', (m) => (m.deleted = [1]), /deleted paths that are not a list/],
    [
      'a tar that is a symlink',
      () => {
        rmSync(join(entry(), 'layer-0.tar'));
        symlinkSync('/etc/passwd', join(entry(), 'layer-0.tar'));
      },
      /has a tar layer-0\.tar that is not a file/,
    ],
  ])('refuses a planted layer entry: %s', async (_what, plant, message) => {
    await cache.layer(image, KEY, layerMaker);
    const meta = JSON.parse(readFileSync(join(entry(), 'meta.json'), 'utf8')) as Record<string, unknown>;
    plant(meta);
    writeFileSync(join(entry(), 'meta.json'), JSON.stringify(meta));
    const err = await cache.layer(image, KEY, layerMaker).catch((e: Error) => e);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(entry());
  });
});

describe('CutCache.dropStale', () => {
  it("drops the entries of the reference's other images, keeps the current image's and other references'", async () => {
    await cache.newTree(image, EPOCH, unpack);
    await cache.layer(image, KEY, layerMaker);
    const old = { id: OTHER, ref: image.ref };
    await cache.newTree(old, EPOCH, unpack);
    await cache.layer(old, KEY, layerMaker);
    const elsewhere = { id: `sha256:${'d'.repeat(64)}`, ref: 'localhost/y/image-builder:t' };
    await cache.newTree(elsewhere, EPOCH, unpack);
    expect(await cache.dropStale(image.ref, image.id)).toBe(2);
    expect(await cache.cachedTree(image, EPOCH)).not.toBeNull();
    expect(await cache.cachedTree(old, EPOCH)).toBeNull();
    expect(await cache.cachedTree(elsewhere, EPOCH)).not.toBeNull();
    // `clean`: every entry of the reference.
    expect(await cache.dropStale(image.ref, null)).toBe(2);
    expect(existsSync(join(dir, 'cut-cache', 'trees', `${'d'.repeat(64)}-${EPOCH}`))).toBe(true);
    renameSync(join(dir, 'cut-cache'), join(dir, 'gone'));
    expect(await cache.dropStale(image.ref, null)).toBe(0);
  });
});

describe('CutCache.dropOtherTrees', () => {
  it("drops other images' trees no cut used lately, keeps the image's own and one another cut just used", async () => {
    const other = { id: OTHER, ref: 'localhost/y/image-builder:t' };
    const third = { id: `sha256:${'d'.repeat(64)}`, ref: 'localhost/z/image-builder:t' };
    await cache.newTree(image, EPOCH, unpack);
    await cache.newTree(other, EPOCH, unpack);
    await cache.newTree(third, EPOCH, unpack);
    await cache.layer(other, KEY, layerMaker);
    const meta = (hex: string) => join(dir, 'cut-cache', 'trees', `${hex.repeat(64)}-${EPOCH}`, 'meta.json');
    const hourAgo = Date.now() / 1000 - 3600;
    utimesSync(meta('a'), hourAgo, hourAgo);
    utimesSync(meta('b'), hourAgo, hourAgo);
    utimesSync(meta('d'), hourAgo, hourAgo);
    // A cut of `third` takes its tree now: it counts as used.
    expect(await cache.cachedTree(third, EPOCH)).not.toBeNull();
    expect(await cache.dropOtherTrees(image.id)).toBe(1);
    expect(await cache.cachedTree(image, EPOCH)).not.toBeNull();
    expect(await cache.cachedTree(other, EPOCH)).toBeNull();
    expect(await cache.cachedTree(third, EPOCH)).not.toBeNull();
    // Layers are small: they stay.
    expect(readdirSync(join(dir, 'cut-cache', 'layers'))).toHaveLength(1);
  });
});
