/** A container's changes from two listings of its files by the image's find (engine/container-diff). */
import { describe, expect, it } from 'vitest';
import { parseSnapshot, snapshotChanges } from '../../../src/engine/container-diff.js';

const listing = (records: string[]) => Buffer.from(records.map((r) => `${r}\0`).join(''));

describe('parseSnapshot', () => {
  it('reads ctime and path of each record, without / and what Docker mounts', () => {
    const snap = parseSnapshot(
      listing([
        '1700000000.1234567890 /',
        '1700000000.1234567890 /etc',
        '1700000001.5 /etc/hosts',
        '1700000001.5 /etc/hostname',
        '1700000001.5 /etc/resolv.conf',
        '1700000002.0 /dev',
        '1700000002.0 /proc',
        '1700000002.0 /sys',
        '1700000003 /etc/a name\nwith a newline',
        '1700000004.25 /devices',
      ]),
    );
    expect(snap && [...snap]).toEqual([
      ['/etc', '1700000000.1234567890'],
      ['/etc/a name\nwith a newline', '1700000003'],
      ['/devices', '1700000004.25'],
    ]);
  });

  it('gives null for output that is not such a listing (no GNU find, or a find that lies)', () => {
    expect(parseSnapshot(Buffer.from('find: unrecognized: -printf\n'))).toBeNull();
    expect(parseSnapshot(listing(['1700000000 etc/relative']))).toBeNull();
    expect(parseSnapshot(listing(['yesterday /etc']))).toBeNull();
    // The last record must end with NUL: a listing cut short is not taken as a whole one.
    expect(parseSnapshot(Buffer.from('1700000000 /etc\u00001700000000 /bi'))).toBeNull();
    expect(parseSnapshot(Buffer.alloc(0))?.size).toBe(0);
  });
});

describe('snapshotChanges', () => {
  const snap = (entries: Record<string, string>) => new Map(Object.entries(entries));

  it('names new paths added, paths whose ctime moved modified, and keeps the rest out', () => {
    const before = snap({ '/etc': '1', '/etc/issue': '1', '/usr': '1', '/usr/bin': '1' });
    const after = snap({ '/etc': '5', '/etc/issue': '5', '/etc/new': '5', '/usr': '1', '/usr/bin': '1' });
    expect(snapshotChanges(before, after)).toEqual([
      { path: '/etc', kind: 'modified' },
      { path: '/etc/issue', kind: 'modified' },
      { path: '/etc/new', kind: 'added' },
    ]);
  });

  it('names only the topmost path of a deleted subtree', () => {
    const before = snap({
      '/var': '1',
      '/var/lib': '1',
      '/var/lib/apt': '1',
      '/var/lib/apt/lists': '1',
      '/var/lib/apt/lists/a': '1',
      '/var/lib/dbus': '1',
      '/var/lib/dbus/machine-id': '1',
    });
    const after = snap({ '/var': '1', '/var/lib': '5', '/var/lib/dbus': '5' });
    expect(snapshotChanges(before, after)).toEqual([
      { path: '/var/lib', kind: 'modified' },
      { path: '/var/lib/dbus', kind: 'modified' },
      { path: '/var/lib/apt', kind: 'deleted' },
      { path: '/var/lib/dbus/machine-id', kind: 'deleted' },
    ]);
  });

  it('takes a path replaced by another of a different type as modified, its old children as deleted', () => {
    const before = snap({ '/opt': '1', '/opt/x': '1', '/opt/x/y': '1' });
    const after = snap({ '/opt': '5', '/opt/x': '6' });
    expect(snapshotChanges(before, after)).toEqual([
      { path: '/opt', kind: 'modified' },
      { path: '/opt/x', kind: 'modified' },
      { path: '/opt/x/y', kind: 'deleted' },
    ]);
  });
});
