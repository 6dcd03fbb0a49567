/**
 * Builds the test image with the real Docker Engine, mmdebstrap and ansible, then checks inside it every
 * osconfig feature the test manifests set, the live-CD content, the labels and the logs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, SESSION_LABEL } from '../../../src/api.js';
import { leaseTag } from '../../../src/lease.js';
import { builtImage } from '../../helpers/built-image.js';

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell snippet in a throw-away container of the image. */
function inImage(image: string, script: string): { status: number | null; stdout: string; stderr: string } {
  return sh('docker', ['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', image, '-c', script]);
}

function ok(image: string, script: string): string {
  const r = inImage(image, script);
  expect(r.status, `${script}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

let result: BuildResult;

beforeAll(async () => {
  expect(sh('docker', ['version', '--format', '{{.Server.Version}}']).status, 'dockerd must be running').toBe(
    0,
  );
  result = await builtImage((l) => process.stdout.write(`${l}\n`));
}, 3_600_000);

describe('build: the test image', () => {
  it('is tagged with the image reference and carries the OCI labels, without secrets', () => {
    expect(result.imageRef).toBe('localhost/airship-test/image-builder:itest-debian_bookworm');
    const r = sh('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', result.imageRef]);
    expect(r.status).toBe(0);
    const labels = JSON.parse(r.stdout) as Record<string, string>;
    for (const k of ['revision', 'created', 'title', 'source'])
      expect(labels[`org.opencontainers.image.${k}`], k).toBeTruthy();
    expect(labels['airship-image-builder.config-digest']).toBe(`sha256:${result.configDigest}`);
    expect(r.stdout).not.toContain('$6$');
  });

  it('applies sysctl, kernel modules, limits and grub defaults', () => {
    expect(ok(result.imageRef, 'cat /etc/sysctl.d/60-airship.conf')).toContain('kernel.pid_max = 4194303');
    expect(ok(result.imageRef, 'cat /etc/modules-load.d/airship.conf')).toMatch(/^8021q$/m);
    expect(ok(result.imageRef, 'cat /etc/modprobe.d/airship-blacklist.conf')).toMatch(/^blacklist floppy$/m);
    expect(ok(result.imageRef, 'cat /etc/security/limits.d/60-airship.conf')).toMatch(
      /^\* soft nofile 4242$/m,
    );
    const grub = ok(result.imageRef, 'cat /etc/default/grub.d/50-airship.cfg');
    expect(grub).toContain(
      'GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200n8 console=tty0 airship_test=1 crashkernel=256M"',
    );
    expect(grub).toContain('GRUB_TIMEOUT=7');
    expect(grub).toContain('GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0"');
  });

  it('writes the login banner, motd, cloud-init datasources and turns automatic upgrades off', () => {
    expect(ok(result.imageRef, 'cat /etc/issue')).toContain('Airship test node');
    expect(ok(result.imageRef, 'cat /etc/update-motd.d/05-airship')).toContain('airship test motd');
    expect(ok(result.imageRef, 'cat /etc/cloud/cloud.cfg.d/90-airship.cfg')).toContain(
      'datasource_list: [ ConfigDrive, NoCloud, None ]',
    );
    expect(ok(result.imageRef, 'cat /etc/apt/apt.conf.d/20auto-upgrades')).toContain(
      'APT::Periodic::Unattended-Upgrade "0";',
    );
  });

  it('creates directories and files with owner and mode, per run context', () => {
    const out = ok(
      result.imageRef,
      'stat -c "%n %U:%G %a" /opt/airship-test /opt/airship-test/hello.sh /etc/issue.net; test ! -e /opt/qcow-only && echo no-qcow-dir',
    );
    expect(out).toContain('/opt/airship-test daemon:daemon 750');
    expect(out).toContain('/opt/airship-test/hello.sh daemon:daemon 640');
    expect(out).toContain('/etc/issue.net root:root 600');
    expect(out).toContain('no-qcow-dir');
  });

  it('enables the systemd unit from the config', () => {
    expect(
      ok(
        result.imageRef,
        'readlink /etc/systemd/system/multi-user.target.wants/airship-sample.service',
      ).trim(),
    ).toBe('/etc/systemd/system/airship-sample.service');
  });

  it("shows the user script's effect", () => {
    expect(ok(result.imageRef, 'cat /etc/airship-user-script').trim()).toBe('user script ran');
  });

  it('keeps the unapproved package out and pinned', () => {
    expect(inImage(result.imageRef, 'dpkg -s unattended-upgrades').status).not.toBe(0);
    expect(ok(result.imageRef, 'cat /etc/apt/preferences.d/airship-unapproved')).toContain(
      'Package: unattended-upgrades\nPin: release *\nPin-Priority: -1',
    );
  });

  it('locks the managed user and sets its shell', () => {
    const line = ok(result.imageRef, 'getent shadow airtest').trim();
    expect(line.split(':')[1]?.startsWith('!')).toBe(true);
    expect(ok(result.imageRef, 'getent passwd airtest')).toContain(':/bin/false');
  });

  it('registers the repo, sets the NIC naming policy and finalizes', () => {
    expect(ok(result.imageRef, 'cat /etc/apt/sources.list.d/airship.list')).toMatch(
      /^deb (\[signed-by=\S+\] )?\S+ bookworm main$/m,
    );
    expect(inImage(result.imageRef, 'test -e /etc/apt/sources.list').status).not.toBe(0);
    expect(ok(result.imageRef, 'cat /etc/systemd/network/99-default.link')).toContain(
      'NamePolicy=kernel database onboard path slot',
    );
    expect(ok(result.imageRef, 'wc -c < /etc/machine-id').trim()).toBe('0');
    expect(ok(result.imageRef, 'ls /var/lib/apt/lists | wc -l').trim()).toBe('0');
  });

  it('holds the live-CD content; the squashfs is readable by unsquashfs and lists /etc/os-release', () => {
    const files = ok(result.imageRef, 'cd /livecd && ls -a . live boot/grub');
    for (const f of [
      '.airship-livecd',
      'filesystem.squashfs',
      'vmlinuz',
      'initrd.img',
      'grub.cfg',
      'bios.img',
      'efi.img',
    ])
      expect(files).toContain(f);
    expect(ok(result.imageRef, 'cat /livecd/boot/grub/grub.cfg')).toContain('boot=live');
    const dir = mkdtempSync(join(tmpdir(), 'aib-livecd-'));
    const name = `aib-test-cp-${process.pid}`;
    try {
      expect(sh('docker', ['create', '--name', name, result.imageRef, 'true']).status).toBe(0);
      expect(sh('docker', ['cp', `${name}:/livecd/`, dir]).status).toBe(0);
      const l = sh('unsquashfs', ['-l', join(dir, 'livecd/live/filesystem.squashfs')]);
      expect(l.status, l.stderr).toBe(0);
      expect(l.stdout).toMatch(/^squashfs-root\/etc\/os-release$/m);
      expect(l.stdout).not.toMatch(/^squashfs-root\/boot\//m);
      const efi = sh('mdir', ['-b', '-i', join(dir, 'livecd/boot/grub/efi.img'), '::/EFI/BOOT']);
      expect(efi.stdout).toMatch(/BOOTX64\.EFI/i);
      expect(readFileSync(join(dir, 'livecd/boot/grub/bios.img')).length).toBeGreaterThan(10_000);
    } finally {
      sh('docker', ['rm', '-f', name]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps secrets out of the log and leaves no container behind', () => {
    // Every build log of the cache, the one that ran ansible included (this run may have reused its stages).
    const dir = dirname(result.logFile);
    const logs = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(logs.some((l) => l.includes('PLAY [Configure the operating system]'))).toBe(true);
    for (const l of logs) expect(l).not.toContain('$6$airship$');
    const ps = sh('docker', [
      'ps',
      '-a',
      '--filter',
      `label=${SESSION_LABEL}`,
      '--format',
      `{{.Label "${SESSION_LABEL}"}}`,
    ]);
    expect(ps.stdout.split('\n').filter((s) => s.includes(leaseTag()))).toEqual([]);
  });
});
