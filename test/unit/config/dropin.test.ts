/** Drop-in details of the original's layout: script folders, run context names, DISTRO. */
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registeredSource } from '../../../src/stages/rootfs.js';
import { load, loadErrors, scratch } from './fixtures.js';

describe('scripts/<run context>/ of the manifests folder', () => {
  it('run after user_scripts in their context, in name order, a profile replacing a script of the same name; README.md is not run', async () => {
    const { dir, cleanup } = await scratch({
      'scripts/common/20-second.sh': '#!/bin/sh\necho second\n',
      'scripts/common/10-first.sh': '#!/bin/sh\necho first\n',
      'scripts/common/README.md': '# notes\n',
      'scripts/qcow/50-disk.sh': '#!/bin/sh\necho qcow\n',
      '../profiles/p/manifests/scripts/common/20-second.sh': '#!/bin/sh\necho second from profile\n',
    });
    try {
      const { config } = await load({ workdir: dir, profile: 'p' });
      const tail = config.osconfig.user_scripts.slice(-3);
      expect(tail).toEqual([
        { file_content: '#!/bin/sh\necho first\n', run_contexts: ['common'] },
        { file_content: '#!/bin/sh\necho second from profile\n', run_contexts: ['common'] },
        { file_content: '#!/bin/sh\necho qcow\n', run_contexts: ['qcow'] },
      ]);
      expect(config.qcowBundles[0]!.osconfig.user_scripts).toEqual(expect.arrayContaining(tail));
    } finally {
      await cleanup();
    }
  });

  it('refuses a script that leads out of the manifests folder, naming it', async () => {
    const { dir, cleanup } = await scratch({ 'scripts/common/.keep': '' });
    try {
      await symlink('/etc/passwd', join(dir, 'scripts/common/10-leak.sh'));
      const errors = await loadErrors({ workdir: dir });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ file: join(dir, 'scripts/common/10-leak.sh') });
      expect(errors[0]!.message).toContain('outside the manifests folder');
    } finally {
      await cleanup();
    }
  });
});

describe('run context names', () => {
  it.each([
    ['default_run_context', 'base', 'expected common'],
    ['qcow_run_context', 'disk', 'expected qcow'],
  ])('%s: %s is refused (no item could match it)', async (name, value, message) => {
    const { dir, cleanup } = await scratch({ 'rootfs/osconfig-vars.yaml': `${name}: ${value}\n` });
    try {
      const errors = await loadErrors({ workdir: dir });
      expect(errors.find((e) => e.key === name)?.message).toContain(message);
      expect(errors.find((e) => e.key === name)?.position?.line).toBe(1);
    } finally {
      await cleanup();
    }
  });
});

describe('DISTRO', () => {
  it('selects the bootstrap suite and mirror: ubuntu_focal is focal from the original repositories', async () => {
    const { config } = await load({ distro: 'ubuntu_focal' });
    expect(config.multistrap.repos[0]).toMatchObject({ name: 'Ubuntu', suite: 'focal' });
    expect(config.imageRef).toBe('localhost/airshipit/image-builder:latest-ubuntu_focal');
    const { config: debian } = await load();
    expect(debian.multistrap.repos[0]).toMatchObject({ name: 'Debian', suite: 'bookworm' });
  });

  it('refuses a name without a defaults set, listing the known ones', async () => {
    const errors = await loadErrors({ distro: 'ubuntu_jammy' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.key).toBe('DISTRO');
    expect(errors[0]!.message).toContain('known: debian_bookworm, ubuntu_focal');
  });
});

describe('omitdebsrc', () => {
  it('false (the default) registers a deb-src line beside the deb line, as multistrap did; true leaves it out', () => {
    const src = { uri: 'http://mirror.example.org/debian', suite: 'bookworm', components: ['main'] };
    expect(registeredSource('Debian', src, false)).toBe(
      '# Debian\ndeb http://mirror.example.org/debian bookworm main\ndeb-src http://mirror.example.org/debian bookworm main\n',
    );
    expect(registeredSource('Debian', { ...src, signedBy: '/etc/apt/keyrings/d.gpg' }, true)).toBe(
      '# Debian\ndeb [signed-by=/etc/apt/keyrings/d.gpg] http://mirror.example.org/debian bookworm main\n',
    );
  });
});
