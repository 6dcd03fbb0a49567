/**
 * Where a QCOW cut works: CUT_DIR as given, or (`auto`) a private folder of this user in a tmpfs when memory
 * allows, else the cache folder with the reason. Hostile cases: a folder in /dev/shm planted by someone else
 * (a symlink, a file, another user's folder, a folder others can write) is never used.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cutPlace, memoryCutRoot, notPrivate } from '../../src/stages/cut-place.js';

const GiB = 1024 ** 3;
const plenty = () => 64 * GiB;
// A uid of our own per run, so the folder under /dev/shm is this test's.
const uid = 700_000 + (process.pid % 100_000);
let shm = '';
let disk = '';

beforeEach(() => {
  // A folder on the real tmpfs: statfs reports TMPFS_MAGIC for it.
  shm = mkdtempSync('/dev/shm/aib-cut-place-');
  disk = mkdtempSync('/var/tmp/aib-cut-place-');
});
afterEach(() => {
  rmSync(shm, { recursive: true, force: true });
  rmSync(disk, { recursive: true, force: true });
});

describe('cutPlace', () => {
  it('takes CUT_DIR as given when it is not auto', async () => {
    expect(await cutPlace(join(disk, 'x'), disk, GiB, { shm })).toEqual({
      root: join(disk, 'x'),
      memory: false,
    });
  });

  it('auto: a private folder of this user in the tmpfs when memory allows', async () => {
    const probe = { shm, uid: process.getuid?.() ?? 0, available: plenty };
    const p = await cutPlace('auto', disk, GiB, probe);
    expect(p).toEqual({ root: memoryCutRoot(probe), memory: true });
    const st = lstatSync(p.root);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    // A second cut uses the same folder.
    expect(await cutPlace('auto', disk, GiB, probe)).toEqual(p);
  });

  it('auto: the cache folder when memory or the tmpfs is short, saying so', async () => {
    const p = await cutPlace('auto', disk, GiB, { shm, available: () => 4 * GiB });
    expect(p.root).toBe(disk);
    expect(p.memory).toBe(false);
    expect(p.note).toMatch(
      /working on disk: a cut works in .* only with 6\.0 GiB free there and 8\.0 GiB of memory available \(there are .* and 4\.0 GiB\)/,
    );
    const huge = await cutPlace('auto', disk, 1e15, { shm, available: () => 1e17 });
    expect(huge.memory).toBe(false);
    expect(huge.note).toMatch(/free there/);
  });

  it('auto: the cache folder, silently, when there is no tmpfs', async () => {
    expect(await cutPlace('auto', disk, GiB, { shm: disk, available: plenty })).toEqual({
      root: disk,
      memory: false,
    });
  });

  describe('a planted folder in the tmpfs is never used', () => {
    const me = process.getuid?.() ?? 0;
    const cases: [string, (at: string) => void, RegExp, number][] = [
      ['a symlink to a folder', (at) => symlinkSync(disk, at), /is a symlink/, me],
      ['a file', (at) => writeFileSync(at, ''), /is not a folder/, me],
      ['another user’s folder', (at) => mkdirSync(at, { mode: 0o700 }), /is owned by uid \d+/, uid],
      [
        'a folder others can write',
        (at) => {
          mkdirSync(at);
          chmodSync(at, 0o777);
        },
        /is open to other users/,
        me,
      ],
    ];
    for (const [what, plant, message, as] of cases)
      it(what, async () => {
        const probe = { shm, uid: as, available: plenty };
        plant(memoryCutRoot(probe));
        const p = await cutPlace('auto', disk, GiB, probe);
        expect(p.root).toBe(disk);
        expect(p.memory).toBe(false);
        expect(p.note).toMatch(message);
        expect(await notPrivate(memoryCutRoot(probe), as)).not.toBeNull();
      });
  });
});
