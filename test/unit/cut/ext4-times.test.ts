/** The used inodes read from dumpe2fs' group listing, and the debugfs commands that fix their times. */
import { describe, expect, it } from 'vitest';
import { timeCommands, usedInodes } from '../../../src/engine/ext4-times.js';

const DUMP = `Filesystem volume name:   <none>
Inode count:              24
Free inodes:              13
Inodes per group:         8

Group 0: (Blocks 0-32767) csum 0x1234 [ITABLE_ZEROED]
  Free blocks: 100-200
  Free inodes: 
Group 1: (Blocks 32768-65535) csum 0x1 [INODE_UNINIT]
  Free blocks: 
  Free inodes: 12-13, 15-16
Group 2: (Blocks 65536-98303) csum 0x2 [INODE_UNINIT]
  Free inodes: 17-24
`;

describe('usedInodes', () => {
  it('is every inode but the free ranges of each group (the header line is not a group)', () => {
    expect(usedInodes(DUMP)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14]);
  });

  it('refuses output without an inode count or groups', () => {
    expect(() => usedInodes('Inode count: 8\n')).toThrow(/no inode count or no groups/);
    expect(() => usedInodes('Group 0: x\n  Free inodes: 1-8\n')).toThrow(/no inode count or no groups/);
  });
});

describe('timeCommands', () => {
  it('sets ctime and atime of each inode to the epoch', () => {
    expect(timeCommands([2, 12], 1700000000)).toBe(
      'sif <2> ctime @1700000000\nsif <2> atime @1700000000\nsif <12> ctime @1700000000\nsif <12> atime @1700000000\n',
    );
  });
});
