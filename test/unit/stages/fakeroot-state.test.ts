/** fakeroot's state file read back for the xfs protofile: device in hex, inode in decimal, mode in octal. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inodeKey, readFakerootState } from '../../../src/stages/fakeroot-state.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aib-fakeroot-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readFakerootState', () => {
  it('reads owners, modes and device numbers by inode', () => {
    const file = join(dir, 'state');
    writeFileSync(
      file,
      'dev=fd01,ino=1234,mode=100644,uid=0,gid=0,nlink=1,rdev=0\n' +
        'dev=fd01,ino=99,mode=20666,uid=0,gid=5,nlink=1,rdev=259\n',
    );
    const s = readFakerootState(file);
    expect(s.get(inodeKey(0xfd01, 1234))).toEqual({ mode: 0o100644, uid: 0, gid: 0, rdev: 0 });
    expect(s.get(inodeKey(0xfd01, 99))).toEqual({ mode: 0o20666, uid: 0, gid: 5, rdev: 259 });
    expect(s.get(inodeKey(0xfd01, 100))).toBeUndefined();
  });

  it('is empty for a run as root (no file, or an empty one)', () => {
    expect(readFakerootState(join(dir, 'none')).size).toBe(0);
    writeFileSync(join(dir, 'empty'), '');
    expect(readFakerootState(join(dir, 'empty')).size).toBe(0);
  });

  it('refuses a line it cannot read, naming the file and line', () => {
    const file = join(dir, 'state');
    writeFileSync(file, 'dev=fd01,ino=1,mode=100644,uid=0,gid=0,nlink=1,rdev=0\nuid=0;rm -rf /\n');
    expect(() => readFakerootState(file)).toThrow(`fakeroot state ${file}:2: not a record`);
  });
});
