/**
 * The xattrs of a tree unpacked without root: read from tar PAX records, kept in a side file that may come
 * from the cut cache (so it is checked, not trusted), and turned into debugfs commands that cannot be steered
 * to another file by a quote or a newline in a path.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildError } from '../../../src/errors.js';
import {
  ext4XattrCommands,
  forgetPath,
  loadTreeXattrs,
  recordEntry,
  saveTreeXattrs,
  type TreeXattrs,
} from '../../../src/stages/tree-xattrs.js';
import { tarHeader } from '../../helpers/tar-header.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aib-xattrs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const header = (pax: Record<string, string>) =>
  tarHeader({ pax: new Map(Object.entries(pax).map(([k, v]) => [k, Buffer.from(v, 'latin1')])) });

const CAP = 'SCHILY.xattr.security.capability';

describe('recordEntry', () => {
  it('keeps an entry xattrs by path, and a later entry without any replaces them', () => {
    const x: TreeXattrs = new Map();
    recordEntry(x, header({ [CAP]: '\x01\x00\x00\x02', path: 'usr/bin/arping' }), 'usr/bin/arping');
    expect(x.get('usr/bin/arping')?.get('security.capability')).toEqual(Buffer.from([1, 0, 0, 2]));
    recordEntry(x, header({}), 'usr/bin/arping');
    expect(x.has('usr/bin/arping')).toBe(false);
  });

  it('refuses a POSIX ACL, naming the file, since only root can unpack it', () => {
    const x: TreeXattrs = new Map();
    expect(() => recordEntry(x, header({ 'SCHILY.acl.access': 'user::rwx' }), 'srv/share')).toThrow(
      /\/srv\/share carries a POSIX ACL \(SCHILY\.acl\.access\).*run the cut as root/,
    );
  });
});

describe('the side file', () => {
  it('round-trips binary values, and a missing file is an empty tree', () => {
    const file = join(dir, 'state.xattrs.json');
    expect(loadTreeXattrs(file).size).toBe(0);
    const x: TreeXattrs = new Map([['a', new Map([['user.bin', Buffer.from([0, 255, 10])]])]]);
    saveTreeXattrs(file, x);
    expect(loadTreeXattrs(file)).toEqual(x);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['a list', '[]', /expected an object of paths/],
    ['a path that is not an object', '{"a": "x"}', /"a": expected an object of xattr names/],
    ['a value that is not base64', '{"a": {"user.x": "%%"}}', /"a": "user.x": expected a base64 string/],
    ['a value that is a number', '{"a": {"user.x": 1}}', /expected a base64 string/],
    [
      'a path with ..',
      '{"usr/../../etc/shadow": {"user.x": ""}}',
      /"usr\/..\/..\/etc\/shadow": expected a path relative/,
    ],
    ['an absolute path', '{"/etc/shadow": {"user.x": ""}}', /"\/etc\/shadow": expected a path relative/],
    ['a path with ./', '{"./etc": {"user.x": ""}}', /expected a path relative/],
    ['the empty path', '{"": {"user.x": ""}}', /expected a path relative/],
  ])('refuses a planted side file: %s, naming it', (_what, text, message) => {
    const file = join(dir, 'state.xattrs.json');
    writeFileSync(file, text);
    const err = (() => {
      try {
        loadTreeXattrs(file);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(message);
  });

  it('forgets a deleted folder and everything below it, not its namesakes', () => {
    const v = new Map([['user.a', Buffer.from('1')]]);
    const x: TreeXattrs = new Map([
      ['etc', v],
      ['etc/a', v],
      ['etcetera', v],
    ]);
    forgetPath(x, 'etc');
    expect([...x.keys()]).toEqual(['etcetera']);
  });
});

describe('ext4XattrCommands', () => {
  const v = (s: string) => new Map([['security.capability', Buffer.from(s)]]);

  it('sets the files of one partition by their path inside it, values from files', async () => {
    const x: TreeXattrs = new Map([
      ['boot/vmlinuz', v('k')],
      ['usr/bin/ping', v('p')],
      ['usr/bin/gone', v('g')],
    ]);
    const root = await ext4XattrCommands(x, '/', (rel) => rel !== 'usr/bin/gone', dir);
    expect(root).toBe(
      `ea_set -f "${dir}/xattr-0" "/boot/vmlinuz" "security.capability"\n` +
        `ea_set -f "${dir}/xattr-1" "/usr/bin/ping" "security.capability"\n`,
    );
    expect(readFileSync(join(dir, 'xattr-1'), 'utf8')).toBe('p');
    const boot = await ext4XattrCommands(x, '/boot', () => true, dir);
    expect(boot).toBe(`ea_set -f "${dir}/xattr-0" "/vmlinuz" "security.capability"\n`);
  });

  it.each([
    ['a newline', 'usr/bin/a\nrdump / /tmp'],
    ['a quote', 'usr/bin/a" "/x'],
    ['a backslash', 'usr/bin/a\\'],
  ])('refuses a path with %s rather than send debugfs another command', async (_what, path) => {
    const x: TreeXattrs = new Map([[path, v('p')]]);
    await expect(ext4XattrCommands(x, '/', () => true, dir)).rejects.toThrow(
      /cannot set the xattrs of .* without root: a quote, backslash or control character/,
    );
  });

  it('refuses an xattr name with a control character', async () => {
    const x: TreeXattrs = new Map([['etc/a', new Map([['user.a\nb', Buffer.from('1')]])]]);
    await expect(ext4XattrCommands(x, '/', () => true, dir)).rejects.toThrow(/control character/);
  });
});
