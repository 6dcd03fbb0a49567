/**
 * Hostile trees for the addon's ext4 fill (the tree comes from an image): links that point out of it, folders
 * nested without end, more data than the partition holds, a lost+found that is not a folder, a file of 1 TiB
 * that is nearly all hole, an abort half-way. Each ends in a named error or a correct filesystem, never a read
 * of a host file or a hang.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mkExt4 } from '../../../src/engine/mkfs.js';
import { BuildError } from '../../../src/errors.js';
import { fillExt4 } from '../../../src/stages/ext4-fill.js';
import { nestFolders } from '../../helpers/nest.js';

const work = mkdtempSync(join(tmpdir(), 'ext4-hostile-'));
const OFFSET = 1024 * 1024;
const BYTES = 32 * 1024 * 1024;
const EPOCH = 1_700_000_000;
let n = 0;
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function fill(root: string): Promise<string> {
  const disk = await emptyDisk();
  await fillExt4({ disk, offset: OFFSET, root, mount: '/srv', sourceDateEpoch: EPOCH, fakerootState: '' });
  return disk;
}

async function emptyDisk(): Promise<string> {
  const disk = join(work, `disk-${n++}.img`);
  writeFileSync(disk, '');
  truncateSync(disk, OFFSET + BYTES);
  await mkExt4({
    file: disk,
    at: { offset: OFFSET, bytes: BYTES },
    uuid: '7d1f3c5e-2b4a-4e6f-8a9b-0c1d2e3f4a5b',
    sourceDateEpoch: EPOCH,
    fakerootState: join(work, 'unused.state'),
  });
  return disk;
}

function tree(): string {
  return mkdtempSync(join(work, 'tree-'));
}

function debugfs(disk: string, cmd: string): string {
  return execFileSync('debugfs', ['-R', cmd, `${disk}?offset=${OFFSET}`], { stdio: 'pipe' }).toString();
}

describe('ext4 fill of a hostile tree', () => {
  it('keeps links as links: the host files they name are never read', async () => {
    const outside = mkdtempSync(join(work, 'host-'));
    const marker = `host-secret-${process.pid}-${Date.now()}`;
    writeFileSync(join(outside, 'secret'), marker);
    const root = tree();
    symlinkSync(join(outside, 'secret'), join(root, 'file-link'));
    symlinkSync(outside, join(root, 'dir-link'));
    symlinkSync('/', join(root, 'root-link'));
    const disk = await fill(root);
    execFileSync('e2fsck', ['-fn', `${disk}?offset=${OFFSET}`], { stdio: 'pipe' });
    expect(debugfs(disk, 'stat /file-link')).toContain('Type: symlink');
    expect(debugfs(disk, 'stat /dir-link')).toContain('Type: symlink');
    expect(readFileSync(disk).includes(Buffer.from(marker))).toBe(false);
  });

  it('refuses folders nested deeper than 1024 levels', async () => {
    const root = tree();
    nestFolders(join(root, 'deep'), 1100);
    const err = await fill(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(/ext4 for \/srv: .*nested deeper than 1024 levels/);
  });

  it('names the partition when the tree does not fit it', async () => {
    const root = tree();
    const big = Buffer.alloc(8 * 1024 * 1024, 0x5a);
    for (let i = 0; i < 6; i++) writeFileSync(join(root, `big-${i}`), big);
    const err = await fill(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(/files for \/srv do not fit its partition .*\/big-\d.*part_end/);
  });

  it('refuses a lost+found that is not a folder (it would be a second entry of that name)', async () => {
    const root = tree();
    writeFileSync(join(root, 'lost+found'), 'not a folder');
    const err = await fill(root).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/lost\+found: not a folder/);
  });

  it("fills an image's own lost+found folder into the one mke2fs made, not a second of the name", async () => {
    const root = tree();
    mkdirSync(join(root, 'lost+found'));
    writeFileSync(join(root, 'lost+found/kept'), 'kept');
    const disk = await fill(root);
    execFileSync('e2fsck', ['-fn', `${disk}?offset=${OFFSET}`], { stdio: 'pipe' });
    expect(debugfs(disk, 'cat /lost+found/kept')).toBe('kept');
    expect(debugfs(disk, 'ls /').match(/lost\+found/g)).toHaveLength(1);
  });

  it('keeps the holes of a 1 TiB file that is nearly all hole', async () => {
    const root = tree();
    const fd = openSync(join(root, 'huge'), 'w');
    writeSync(fd, Buffer.from('tail'), 0, 4, 2 ** 40 - 4);
    closeSync(fd);
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/ok'), 'ok');
    const disk = await fill(root);
    execFileSync('e2fsck', ['-fn', `${disk}?offset=${OFFSET}`], { stdio: 'pipe' });
    expect(debugfs(disk, 'stat /huge')).toMatch(/Size: 1099511627776/);
    expect(debugfs(disk, 'cat /etc/ok')).toBe('ok');
  });

  it('stops at an abort, with the signal reason', async () => {
    const root = tree();
    for (let d = 0; d < 20; d++) {
      mkdirSync(join(root, `d${d}`));
      for (let f = 0; f < 500; f++) writeFileSync(join(root, `d${d}`, `f${f}`), String(f));
    }
    const disk = await emptyDisk();
    const ctl = new AbortController();
    const reason = new Error('interrupted by the test');
    // Started before the abort: the fill itself notices it, at its next entry.
    const p = fillExt4({
      disk,
      offset: OFFSET,
      root,
      mount: '/srv',
      sourceDateEpoch: EPOCH,
      fakerootState: '',
      signal: ctl.signal,
    });
    setImmediate(() => ctl.abort(reason));
    await expect(p).rejects.toBe(reason);
  });
});
