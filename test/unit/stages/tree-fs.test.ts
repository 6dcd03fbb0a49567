/**
 * ImageTree against a temp tree holding every kind of escaping symlink. The "host" is a folder beside the
 * tree (outside it) whose content must never change and never be read back.
 */
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildError } from '../../../src/errors.js';
import { ImageTree, refuseLinksIn } from '../../../src/stages/tree-fs.js';

let base = '';
let tree = '';
let host = '';
let img: ImageTree;
const HOST_TEXT = 'host secret\n';

function hostSnapshot(): string {
  const walk = (d: string): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((n) => {
        const p = join(d, n);
        const st = lstatSync(p);
        return st.isDirectory() ? [`${p}/`, ...walk(p)] : [`${p} ${st.mode} ${readFileSync(p, 'utf8')}`];
      });
  return walk(host).join('\n');
}

let before = '';
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'tree-fs-'));
  tree = join(base, 'tree');
  host = join(base, 'host');
  mkdirSync(join(host, 'dir'), { recursive: true });
  writeFileSync(join(host, 'secret'), HOST_TEXT);
  writeFileSync(join(host, 'dir', 'keep'), 'keep\n');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  mkdirSync(join(tree, 'boot'), { recursive: true });
  writeFileSync(join(tree, 'etc/hostname'), 'inside\n');
  const t = (p: string) => join(tree, p);
  // Every way out: absolute, relative climbing, a link in a parent, a chain, a link to a folder, dangling.
  symlinkSync(join(host, 'secret'), t('etc/fstab'));
  symlinkSync('../../host/secret', t('etc/rel'));
  symlinkSync(join(host, 'dir'), t('abs-dir'));
  symlinkSync('../host/dir', t('rel-dir'));
  symlinkSync('chain2', t('etc/chain1'));
  symlinkSync(join(host, 'secret'), t('etc/chain2'));
  symlinkSync('/nonexistent/path', t('etc/dangling'));
  symlinkSync('/etc', t('etc-abs'));
  symlinkSync('hostname', t('etc/inside-link'));
  symlinkSync('../host', t('boot/grub'));
  before = hostSnapshot();
  img = ImageTree.open(tree);
});

afterEach(() => {
  img.close();
  expect(hostSnapshot()).toBe(before);
  rmSync(base, { recursive: true, force: true });
});

const refused = (fn: () => unknown, path: string, why: RegExp) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BuildError);
  expect((err as Error).message).toContain(`the image's ${path} `);
  expect((err as Error).message).toMatch(why);
};

describe('ImageTree writes', () => {
  it('replaces a last-component symlink (absolute, relative, chained, dangling) with a new regular file', () => {
    for (const name of ['fstab', 'rel', 'chain1', 'chain2', 'dangling', 'inside-link']) {
      img.writeFile(`/etc/${name}`, `ours ${name}\n`, 0o600);
      const p = join(tree, 'etc', name);
      expect(lstatSync(p).isFile()).toBe(true);
      expect(lstatSync(p).mode & 0o777).toBe(0o600);
      expect(readFileSync(p, 'utf8')).toBe(`ours ${name}\n`);
    }
    // The in-tree target of a replaced in-tree link is left alone too.
    expect(readFileSync(join(tree, 'etc/hostname'), 'utf8')).toBe('inside\n');
  });

  it('rewrites a plain file in place but replaces one hard-linked elsewhere', () => {
    const ino = lstatSync(join(tree, 'etc/hostname')).ino;
    img.writeFile('etc/hostname', 'in place\n');
    expect(lstatSync(join(tree, 'etc/hostname')).ino).toBe(ino);
    linkSync(join(tree, 'etc/hostname'), join(tree, 'etc/hardlink'));
    img.writeFile('etc/hardlink', 'replaced\n');
    expect(readFileSync(join(tree, 'etc/hostname'), 'utf8')).toBe('in place\n');
    expect(readFileSync(join(tree, 'etc/hardlink'), 'utf8')).toBe('replaced\n');
  });

  it('overwrites a regular file and makes missing parents', () => {
    img.writeFile('etc/hostname', 'new\n');
    img.writeFile('openstack/latest/meta_data.json', '{}\n');
    expect(readFileSync(join(tree, 'etc/hostname'), 'utf8')).toBe('new\n');
    expect(readFileSync(join(tree, 'openstack/latest/meta_data.json'), 'utf8')).toBe('{}\n');
    expect(statSync(join(tree, 'openstack/latest')).mode & 0o777).toBe(0o755);
  });

  it.each([
    ['/boot/grub/grub.cfg', '/boot/grub', /is a symlink \(to \.\.\/host\)/],
    ['/abs-dir/new', '/abs-dir', /is a symlink \(to \/.*host\/dir\)/],
    ['/rel-dir/keep', '/rel-dir', /is a symlink/],
    ['/etc-abs/passwd', '/etc-abs', /is a symlink \(to \/etc\)/],
    ['/etc/fstab/x', '/etc/fstab', /is a symlink/],
    ['/etc/hostname/x', '/etc/hostname', /is not a folder/],
  ])('refuses to write %s through %s', (path, at, why) => {
    refused(() => img.writeFile(path, 'x'), at, why);
  });

  it('refuses ".." and a folder as the file', () => {
    expect(() => img.writeFile('../host/secret', 'x')).toThrow(/may not hold "\.\."/);
    expect(() => img.writeFile('etc/../../host/secret', 'x')).toThrow(/may not hold "\.\."/);
    refused(() => img.writeFile('etc', 'x'), '/etc', /is a folder/);
  });

  it('mkdirp makes folders but refuses a symlink at any depth, the last included', () => {
    img.mkdirp('/boot/efi/EFI/BOOT');
    expect(statSync(join(tree, 'boot/efi/EFI/BOOT')).isDirectory()).toBe(true);
    refused(() => img.mkdirp('/boot/grub'), '/boot/grub', /is a symlink/);
    refused(() => img.mkdirp('/abs-dir/sub/sub'), '/abs-dir', /is a symlink/);
    refused(() => img.mkdirp('/etc/dangling/x'), '/etc/dangling', /is a symlink/);
  });

  it('moveOut moves a folder or a link itself, never what a link points at', () => {
    img.moveOut('/boot', join(base, 'moved-boot'));
    expect(lstatSync(join(base, 'moved-boot/grub')).isSymbolicLink()).toBe(true);
    img.moveOut('/abs-dir', join(base, 'moved-link'));
    expect(readlinkSync(join(base, 'moved-link'))).toBe(join(host, 'dir'));
    expect(readdirSync(tree)).not.toContain('abs-dir');
    refused(() => img.moveOut('/rel-dir/keep', join(base, 'x')), '/rel-dir', /is a symlink/);
    refused(() => img.moveOut('/nope', join(base, 'x')), '/nope', /does not exist/);
  });

  it('moveOut never replaces an existing destination', () => {
    mkdirSync(join(base, 'taken'));
    expect(() => img.moveOut('/etc', join(base, 'taken'))).toThrow(BuildError);
    expect(statSync(join(tree, 'etc')).isDirectory()).toBe(true);
  });
});

describe('ImageTree reads', () => {
  it('reads a regular file and lists a folder', () => {
    expect(img.readFile('/etc/hostname').toString()).toBe('inside\n');
    expect(img.readdir('/boot')).toEqual(['grub']);
  });

  it.each([
    ['/etc/fstab', '/etc/fstab'],
    ['/etc/rel', '/etc/rel'],
    ['/etc/chain1', '/etc/chain1'],
    ['/etc/dangling', '/etc/dangling'],
    ['/etc/inside-link', '/etc/inside-link'],
    ['/abs-dir/keep', '/abs-dir'],
    ['/rel-dir/keep', '/rel-dir'],
    ['/boot/grub/../host/secret', ''],
  ])('refuses to read %s (link at %s)', (path, at) => {
    if (at === '') expect(() => img.readFile(path)).toThrow(/may not hold/);
    else refused(() => img.readFile(path), at, /is a symlink/);
  });

  it('refuses to list a folder reached through a link', () => {
    refused(() => img.readdir('/boot/grub'), '/boot/grub', /is a symlink/);
    refused(() => img.readdir('/etc-abs'), '/etc-abs', /is a symlink/);
  });

  it('lstat reports a link without following it and undefined for a missing path', () => {
    expect(img.lstat('/etc/fstab')?.isSymbolicLink()).toBe(true);
    expect(img.lstat('/abs-dir')?.isSymbolicLink()).toBe(true);
    expect(img.lstat('/etc/none')).toBeUndefined();
    expect(img.lstat('/none/none')).toBeUndefined();
    refused(() => img.lstat('/abs-dir/keep'), '/abs-dir', /is a symlink/);
  });

  it('copyFolderOut copies files and folders and refuses a link inside', () => {
    mkdirSync(join(tree, 'usr/lib/grub/i386-pc/sub'), { recursive: true });
    writeFileSync(join(tree, 'usr/lib/grub/i386-pc/boot.img'), 'boot');
    writeFileSync(join(tree, 'usr/lib/grub/i386-pc/sub/x.mod'), 'mod');
    img.copyFolderOut('usr/lib/grub/i386-pc', join(base, 'mods'));
    expect(readFileSync(join(base, 'mods/boot.img'), 'utf8')).toBe('boot');
    expect(readFileSync(join(base, 'mods/sub/x.mod'), 'utf8')).toBe('mod');
    symlinkSync(join(host, 'secret'), join(tree, 'usr/lib/grub/i386-pc/evil.mod'));
    refused(
      () => img.copyFolderOut('usr/lib/grub/i386-pc', join(base, 'mods2')),
      '/usr/lib/grub/i386-pc/evil.mod',
      /is a symlink/,
    );
    refused(() => img.copyFolderOut('/abs-dir', join(base, 'mods3')), '/abs-dir', /is a symlink/);
  });

  it('names paths with the tree prefix it was opened with', () => {
    const iso = ImageTree.open(tree, '/livecd');
    try {
      refused(() => iso.writeFile('boot/grub/efi.img', 'x'), '/livecd/boot/grub', /is a symlink/);
    } finally {
      iso.close();
    }
  });
});

describe('refuseLinksIn', () => {
  it('passes a plain folder and names the first link or special file', () => {
    mkdirSync(join(base, 'esp/EFI/BOOT'), { recursive: true });
    writeFileSync(join(base, 'esp/EFI/BOOT/BOOTX64.EFI'), 'efi');
    expect(() => refuseLinksIn(join(base, 'esp'), '/boot/efi')).not.toThrow();
    symlinkSync(join(host, 'secret'), join(base, 'esp/EFI/grab'));
    expect(() => refuseLinksIn(join(base, 'esp'), '/boot/efi')).toThrow(
      `the image's /boot/efi/EFI/grab is a symlink (to ${join(host, 'secret')})`,
    );
  });
});
