import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ROLE_VARIABLES } from '../../../src/config/osconfig.js';
import { defaultSettings } from '../../../src/config/settings.js';
import { labelChanges, splitRef } from '../../../src/engine/docker.js';
import { mmdebstrapArgs, sourceLine } from '../../../src/engine/mmdebstrap.js';
import { embeddedGrubCfg, liveGrubCfg } from '../../../src/stages/livecd.js';
import {
  ansibleCause,
  hostCameThrough,
  osconfigNeedsNetwork,
  osconfigRoleVars,
} from '../../../src/stages/osconfig.js';
import { aptCause, nicLinkFile, unapprovedPreferences } from '../../../src/stages/rootfs.js';
import { canonicalJson, digestOf } from '../../../src/stages/store.js';

describe('rootfs inputs', () => {
  it('pins unapproved packages out with priority -1', () => {
    expect(unapprovedPreferences(['nano'])).toContain('Package: nano\nPin: release *\nPin-Priority: -1\n');
  });
  it('writes the NIC naming policy', () => {
    const f = nicLinkFile('kernel path', 'path');
    expect(f).toContain('NamePolicy=kernel path\n');
    expect(f).toContain('AlternativeNamesPolicy=path\n');
  });
  it('keeps the apt error lines as the cause', () => {
    const out =
      'I: foo\nE: Unable to locate package nosuchpkg\nmore\nE: Unable to locate package nosuchpkg\n';
    expect(aptCause(out)).toBe('E: Unable to locate package nosuchpkg');
  });
  it('syncs the archives folder in and out and puts setup files before install', () => {
    const args = mmdebstrapArgs({
      mode: 'unshare',
      suite: 'bookworm',
      arch: 'amd64',
      sources: [{ uri: 'http://mirror.invalid/debian', suite: 'bookworm', components: ['main'] }],
      packages: ['a', 'b'],
      output: '/o.tar',
      archivesDir: '/c',
      uploads: [{ hostPath: '/h/p', path: '/etc/apt/preferences.d/x', when: 'setup' }],
      removeAfter: ['/etc/apt/sources.list'],
      logFile: '/l',
    });
    expect(args).toContain("--setup-hook=sync-in '/c' /var/cache/apt/archives/");
    expect(args).toContain("--customize-hook=sync-out /var/cache/apt/archives '/c'");
    expect(args).toContain('--include=a,b');
    expect(args.indexOf("--setup-hook=upload '/h/p' '/etc/apt/preferences.d/x'")).toBeGreaterThan(0);
    expect(args.slice(-3)).toEqual(['bookworm', '/o.tar', 'deb http://mirror.invalid/debian bookworm main']);
  });
  it('diverts deferred files once the essential set is in and puts them back in the customize step', () => {
    const args = mmdebstrapArgs({
      mode: 'root',
      suite: 'bookworm',
      arch: 'amd64',
      sources: [{ uri: 'http://mirror.invalid/debian', suite: 'bookworm', components: ['main'] }],
      packages: ['kdump-tools'],
      output: '/o.tar',
      archivesDir: '/c',
      uploads: [],
      removeAfter: [],
      deferredFiles: ['/etc/kernel/postinst.d/kdump-tools'],
      afterInstall: ['update-initramfs -c -k all'],
      logFile: '/l',
    });
    const divert = "--local --rename --divert '/etc/kernel/postinst.d/kdump-tools.bootstrap-deferred'";
    expect(args).toContain(
      `--essential-hook=chroot "$1" dpkg-divert --quiet ${divert} --add '/etc/kernel/postinst.d/kdump-tools'`,
    );
    const back = `--customize-hook=chroot "$1" dpkg-divert --quiet ${divert} --remove '/etc/kernel/postinst.d/kdump-tools'`;
    const after = `--customize-hook=chroot "$1" sh -ec 'update-initramfs -c -k all'`;
    expect(args).toContain(back);
    // The commands run while the deferred files are still away (a kernel hook must not run twice).
    expect(args.indexOf(after)).toBeGreaterThan(0);
    expect(args.indexOf(after)).toBeLessThan(args.indexOf(back));
  });
  it("skips dpkg's syncs while bootstrapping and leaves the machine's dpkg its default", () => {
    const args = mmdebstrapArgs({
      mode: 'unshare',
      suite: 'bookworm',
      arch: 'amd64',
      sources: [],
      packages: [],
      output: '/o.tar',
      archivesDir: '/c',
      uploads: [],
      removeAfter: [],
      logFile: '/l',
    });
    const file = "'/etc/dpkg/dpkg.cfg.d/zz-airship-bootstrap'";
    const on = args.findIndex(
      (a) => a.startsWith('--setup-hook=') && a.includes(`force-unsafe-io > "$1"${file}`),
    );
    const off = args.indexOf(`--customize-hook=rm -f "$1"${file}`);
    expect(on).toBeGreaterThan(0);
    expect(off).toBeGreaterThan(on);
  });
  it('writes signed-by when a keyring file is given', () => {
    expect(sourceLine({ uri: 'u', suite: 's', components: ['a', 'b'], signedBy: '/k.gpg' })).toBe(
      'deb [signed-by=/k.gpg] u s a b',
    );
  });
});

describe('digests', () => {
  it('do not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(digestOf({ x: 1, y: 2 })).toBe(digestOf({ y: 2, x: 1 }));
    expect(digestOf({ x: 1 })).not.toBe(digestOf({ x: 2 }));
  });
});

describe('docker helpers', () => {
  it('splits references with a registry port', () => {
    expect(splitRef('localhost:5000/airshipit/image-builder:latest-debian_bookworm')).toEqual({
      repo: 'localhost:5000/airshipit/image-builder',
      tag: 'latest-debian_bookworm',
    });
    expect(splitRef('localhost:5000/x')).toEqual({ repo: 'localhost:5000/x', tag: 'latest' });
  });
  it('quotes label values', () => {
    expect(labelChanges({ 'a.b': 'x "y"' })).toEqual(['LABEL a.b="x \\"y\\""']);
  });
});

describe('osconfig', () => {
  it('names the failing task', () => {
    const out =
      'TASK [osconfig : Run user scripts] ***\nfatal: [c]: FAILED! => {"rc": 3, "stdout": "boom"}\n';
    expect(ansibleCause(out)).toBe(
      'task "osconfig : Run user scripts" failed: fatal: [c]: FAILED! => {"rc": 3, "stdout": "boom"}',
    );
  });
  it('names the failing task of one host of several, and which hosts came through', () => {
    const out = [
      'TASK [osconfig : Enable units] ***',
      'changed: [a]',
      'fatal: [b]: FAILED! => {"rc": 1, "stderr": "no unit"}',
      'PLAY RECAP ***',
      'a                          : ok=3    changed=1    unreachable=0    failed=0    skipped=3',
      'b                          : ok=2    changed=0    unreachable=0    failed=1    skipped=3',
      'c                          : ok=0    changed=0    unreachable=1    failed=0    skipped=0',
      '',
    ].join('\n');
    expect(ansibleCause(out, 'b')).toBe(
      'task "osconfig : Enable units" failed: fatal: [b]: FAILED! => {"rc": 1, "stderr": "no unit"}',
    );
    expect(ansibleCause(out, 'a')).toBe('');
    expect(['a', 'b', 'c', 'd'].map((h) => hostCameThrough(out, h))).toEqual([true, false, false, false]);
  });
  it('hands the role only its documented variables and sets the run context', async () => {
    const { config } = await loadConfig(defaultSettings(), { aptRoot: 'test/fixtures/config/apt/deb822' });
    const vars = { ...config.osconfig, extra: { ansible_connection: 'local', foo: 1 } };
    const out = osconfigRoleVars(vars, 'qcow', 'http://proxy:3128');
    expect(Object.keys(out).sort()).toEqual([...ROLE_VARIABLES, 'run_context', 'proxy', 'no_proxy'].sort());
    expect(out).toMatchObject({
      sysctl: config.osconfig.sysctl,
      run_context: 'qcow',
      proxy: 'http://proxy:3128',
      no_proxy: '',
    });
    expect(out).not.toHaveProperty('ansible_connection');
  });
  it('gives a run a network only for user scripts of its run context or URLs to fetch', async () => {
    const { config } = await loadConfig(defaultSettings(), { aptRoot: 'test/fixtures/config/apt/deb822' });
    const quiet = { ...config.osconfig, user_scripts: [], fetch_from_url: [] };
    const script = (c: 'common' | 'qcow') => [{ file_content: '#!/bin/sh\n', run_contexts: [c] }];
    expect(osconfigNeedsNetwork(quiet, 'qcow')).toBe(false);
    expect(osconfigNeedsNetwork(quiet, 'common')).toBe(false);
    expect(osconfigNeedsNetwork({ ...quiet, user_scripts: script('common') }, 'qcow')).toBe(false);
    expect(osconfigNeedsNetwork({ ...quiet, user_scripts: script('common') }, 'common')).toBe(true);
    expect(osconfigNeedsNetwork({ ...quiet, user_scripts: script('qcow') }, 'qcow')).toBe(true);
    const fetch = [{ url: 'http://example.org/x', use_proxy: false }];
    expect(osconfigNeedsNetwork({ ...quiet, fetch_from_url: fetch }, 'qcow')).toBe(true);
    expect(osconfigNeedsNetwork({ ...quiet, fetch_from_url: fetch }, 'common')).toBe(true);
  });
});

describe('livecd', () => {
  it('boots live-boot with serial and VGA consoles', () => {
    const cfg = liveGrubCfg(5);
    expect(cfg).toContain('boot=live');
    expect(cfg).toContain('console=tty0 console=ttyS0,115200n8');
    expect(cfg).toContain('search --no-floppy --set=root --file /.airship-livecd');
  });
  it("carries the original's live command line: nomodeset, overlay-size, cgroup v1, ds=ConfigDrive", () => {
    const linux = liveGrubCfg(0)
      .split('\n')
      .find((l) => l.trim().startsWith('linux '));
    expect(linux?.trim().split(/\s+/).slice(2)).toEqual([
      'boot=live',
      'components',
      'nomodeset',
      'overlay-size=70%',
      'systemd.unified_cgroup_hierarchy=0',
      'ds=ConfigDrive',
      'console=tty0',
      'console=ttyS0,115200n8',
    ]);
  });
  it('finds the media from the embedded config but keeps the memdisk prefix modules load from', () => {
    const cfg = embeddedGrubCfg();
    expect(cfg).toContain('search --no-floppy --set=root --file /.airship-livecd');
    expect(cfg).toContain('configfile ($root)/boot/grub/grub.cfg');
    // A prefix on the CD (which holds no modules) left BIOS without `serial`: no console, no boot.
    expect(cfg).not.toMatch(/set prefix/);
  });
});
