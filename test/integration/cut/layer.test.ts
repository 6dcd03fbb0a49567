/**
 * An osconfig layer applied to a hard-linked copy of a tree, with real GNU tar and cp: replaced files never
 * change the shared tree's inodes, deleted paths go, and a layer that reaches below a symlink (the tree's own,
 * or one the layer makes) is refused before anything is unpacked, leaving the link's target untouched.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkCopy } from '../../../src/engine/tree-copy.js';
import { applyLayer } from '../../../src/stages/layer.js';

let work = '';
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'layer-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A base tree, its hard-linked copy and an empty fakeroot state. */
async function trees(): Promise<{ base: string; copy: string; state: string }> {
  const base = join(work, 'base');
  mkdirSync(join(base, 'etc'), { recursive: true });
  writeFileSync(join(base, 'etc/motd'), 'base motd\n');
  writeFileSync(join(base, 'etc/gone'), 'x');
  const state = join(work, 'state');
  writeFileSync(state, '');
  const copy = join(work, 'copy');
  await linkCopy(base, copy, { stateFile: state });
  return { base, copy, state };
}

/** A tar of `names` (GNU tar, run in `dir`), with extra tar arguments. */
function layerTar(dir: string, names: string[], extra: string[] = []): string {
  const out = join(work, `layer-${readdirSync(work).length}.tar`);
  execFileSync('tar', ['-c', '-f', out, '-C', dir, ...extra, '--', ...names]);
  return out;
}

describe('applyLayer', () => {
  it('replaces files without touching the shared tree and removes deleted paths', async () => {
    const { base, copy, state } = await trees();
    const staged = join(work, 'staged');
    mkdirSync(join(staged, 'etc'), { recursive: true });
    writeFileSync(join(staged, 'etc/motd'), 'bundle motd\n');
    mkdirSync(join(staged, 'livecd'));
    writeFileSync(join(staged, 'livecd/x'), 'left out');
    const tar = layerTar(staged, ['etc/motd', 'livecd/x']);
    const touched = await applyLayer(
      copy,
      { deleted: ['/etc/gone'], tars: [tar] },
      { stateFile: state, excluded: ['livecd'] },
    );
    // What it deleted and wrote, without what was left out.
    expect(touched).toEqual(['etc/gone', 'etc/motd']);
    expect(existsSync(join(copy, 'livecd/x'))).toBe(false);
    expect(readFileSync(join(copy, 'etc/motd'), 'utf8')).toBe('bundle motd\n');
    expect(readFileSync(join(base, 'etc/motd'), 'utf8')).toBe('base motd\n');
    expect(existsSync(join(copy, 'etc/gone'))).toBe(false);
    expect(existsSync(join(base, 'etc/gone'))).toBe(true);
  });

  it("refuses an entry below the tree's own symlink to a host folder", async () => {
    const { copy, state } = await trees();
    const host = join(work, 'host');
    mkdirSync(host);
    symlinkSync(host, join(copy, 'hostile'));
    const staged = join(work, 'staged');
    mkdirSync(join(staged, 'hostile'), { recursive: true });
    writeFileSync(join(staged, 'hostile/planted'), 'planted');
    const tar = layerTar(staged, ['hostile/planted']);
    await expect(
      applyLayer(copy, { deleted: [], tars: [tar] }, { stateFile: state, excluded: [] }),
    ).rejects.toThrow('osconfig layer: entry /hostile/planted lies below /hostile, which is a symlink');
    expect(readdirSync(host)).toEqual([]);
  });

  it('refuses an entry below a symlink the layer itself makes, and a deleted path below a link', async () => {
    const { copy, state } = await trees();
    const host = join(work, 'host');
    mkdirSync(join(host, 'keep'), { recursive: true });
    const staged = join(work, 'staged');
    mkdirSync(join(staged, 'hostile'), { recursive: true });
    writeFileSync(join(staged, 'hostile/planted'), 'planted');
    symlinkSync(host, join(staged, 'link'));
    const tar = layerTar(staged, ['link', 'hostile/planted'], ['--transform=s,hostile,link,']);
    await expect(
      applyLayer(copy, { deleted: [], tars: [tar] }, { stateFile: state, excluded: [] }),
    ).rejects.toThrow('osconfig layer: entry /link/planted lies below /link, which the layer made a symlink');
    symlinkSync(host, join(copy, 'hostdir'));
    await expect(
      applyLayer(copy, { deleted: ['/hostdir/keep'], tars: [] }, { stateFile: state, excluded: [] }),
    ).rejects.toThrow('osconfig layer: deleted path /hostdir/keep lies below /hostdir, which is a symlink');
    expect(readdirSync(host)).toEqual(['keep']);
  });

  it("refuses a name with '..'", async () => {
    const { copy, state } = await trees();
    const staged = join(work, 'staged');
    mkdirSync(join(staged, 'a'), { recursive: true });
    writeFileSync(join(staged, 'x'), 'x');
    const tar = layerTar(join(staged, 'a'), ['../x'], ['-P']);
    await expect(
      applyLayer(copy, { deleted: [], tars: [tar] }, { stateFile: state, excluded: [] }),
    ).rejects.toThrow("'..' component in name");
  });
});
