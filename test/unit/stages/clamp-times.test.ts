/** Modification times clamped to SOURCE_DATE_EPOCH in a tree, never through a symlink. */

import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clampMtimes } from '../../../src/stages/clamp-times.js';
import { nestFolders } from '../../helpers/nest.js';

const EPOCH = 1_600_000_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('clampMtimes', () => {
  it('sets newer entries (folders, files, links) to the epoch, keeps older ones, follows no link', () => {
    const root = mkdtempSync(join(tmpdir(), 'clamp-'));
    const outside = mkdtempSync(join(tmpdir(), 'clamp-out-'));
    dirs.push(root, outside);
    writeFileSync(join(outside, 'host.txt'), 'host');
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/new'), 'n');
    writeFileSync(join(root, 'etc/old'), 'o');
    utimesSync(join(root, 'etc/old'), 1000, 1000);
    symlinkSync(outside, join(root, 'link'));
    expect(clampMtimes(root, EPOCH)).toBe(4);
    expect(lstatSync(join(root, 'etc/new')).mtimeMs).toBe(EPOCH * 1000);
    expect(lstatSync(join(root, 'etc')).mtimeMs).toBe(EPOCH * 1000);
    expect(lstatSync(root).mtimeMs).toBe(EPOCH * 1000);
    expect(lstatSync(join(root, 'link')).mtimeMs).toBe(EPOCH * 1000);
    expect(lstatSync(join(root, 'etc/old')).mtimeMs).toBe(1000 * 1000);
    // The link's target and what lies in it keep their own times.
    expect(statSync(outside).mtimeMs).toBeGreaterThan(EPOCH * 1000);
    expect(statSync(join(outside, 'host.txt')).mtimeMs).toBeGreaterThan(EPOCH * 1000);
  });

  it('takes names that are not UTF-8 and the fraction of a second past the epoch; the epoch itself is kept', () => {
    const root = mkdtempSync(join(tmpdir(), 'clamp-'));
    dirs.push(root);
    const odd = Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x66, 0xff, 0xfe])]);
    writeFileSync(odd, 'x');
    writeFileSync(join(root, 'half'), 'h');
    utimesSync(join(root, 'half'), EPOCH + 0.5, EPOCH + 0.5);
    writeFileSync(join(root, 'exact'), 'e');
    utimesSync(join(root, 'exact'), EPOCH, EPOCH);
    utimesSync(root, EPOCH, EPOCH);
    expect(clampMtimes(root, EPOCH)).toBe(2);
    expect(lstatSync(odd).mtimeMs).toBe(EPOCH * 1000);
    expect(lstatSync(join(root, 'half')).mtimeMs).toBe(EPOCH * 1000);
    expect(lstatSync(join(root, 'half')).atimeMs).toBe(EPOCH * 1000);
  });

  it('names the path it could not read', () => {
    expect(() => clampMtimes('/nonexistent/clamp-root', EPOCH)).toThrow(
      /clamp-root.*ENOENT|ENOENT.*clamp-root/,
    );
  });

  it('refuses folders nested deeper than 1024 levels (a hostile image), and walks 1024', () => {
    const root = mkdtempSync(join(tmpdir(), 'clamp-'));
    dirs.push(root);
    nestFolders(join(root, 'ok'), 1023);
    expect(clampMtimes(join(root, 'ok'), EPOCH)).toBe(1024);
    nestFolders(join(root, 'deep'), 1100);
    expect(() => clampMtimes(join(root, 'deep'), EPOCH)).toThrow(/nested deeper than 1024 levels/);
  });
});
