/**
 * The bundled defaults' osconfig (the original's role defaults, translated to Debian 12) applied by the real
 * role to the shared test image, read back from the committed image: where the original's variables land.
 * A manifests folder with only a `scripts/` folder adds the original's script folders, run with the proxy in
 * their environment. Then the original's control-plane bundle is cut from that image and read back from the
 * QCOW2's own filesystems with debugfs: what the original's node carried is on the disk, not only in the image
 * (no boot here: test/e2e boots). One osconfig run serves both. The rest of the table (every variable, unit
 * level) is test/unit/config/role-defaults-walk.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutImage } from '../../../src/api.js';
import type { BuildConfig } from '../../../src/config/types.js';
import { removeImage } from '../../../src/engine/docker.js';
import { ext4Cat, ext4Exists } from '../../../src/engine/mkfs.js';
import { convertToRaw, qemuImgInfo } from '../../../src/engine/qemu-img.js';
import { applyOsconfig } from '../../../src/stages/osconfig.js';
import { planDisk } from '../../../src/stages/qcow-layout.js';
import { testBuildConfig } from '../../helpers/build-config.js';
import { builtImage, TEST_SETTINGS } from '../../helpers/built-image.js';

const PROXY = 'http://proxy.invalid:3128';
const GiB = 1024 ** 3;

function run(image: string, ...cmd: string[]): string {
  const r = spawnSync(
    'docker',
    ['run', '--rm', '--network', 'none', '--entrypoint', cmd[0]!, image, ...cmd.slice(1)],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}
const cat = (image: string, path: string) => run(image, 'cat', path);

let work: string;
let config: BuildConfig;
let common: string | undefined;
let qcow: string | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aib-original-defaults-'));
  const manifests = join(work, 'manifests');
  // Scripts report their order and environment into the image.
  const script = (ctx: string, name: string, body: string) => {
    mkdirSync(join(manifests, 'scripts', ctx), { recursive: true });
    writeFileSync(join(manifests, 'scripts', ctx, name), `#!/bin/sh\nset -e\n${body}\n`);
  };
  script('common', '20-second.sh', 'echo "second" >> /etc/aib-scripts');
  script('common', '10-first.sh', 'echo "first $http_proxy $https_proxy $no_proxy" >> /etc/aib-scripts');
  script('qcow', '10-qcow.sh', 'echo "qcow $HTTP_PROXY" > /etc/aib-qcow-script');
  config = await testBuildConfig(manifests, { ...TEST_SETTINGS, proxy: PROXY });
  const base = await builtImage();
  const logFile = join(work, 'osconfig.log');
  common = (
    await applyOsconfig({
      image: base.imageId,
      vars: config.osconfig,
      runContext: 'common',
      proxy: PROXY,
      noProxy: config.settings.noProxy,
      session: `p${process.pid}-origdef`,
      logFile,
    })
  ).image;
  qcow = (
    await applyOsconfig({
      image: common,
      vars: config.qcowBundles.find((b) => b.name === 'control-plane')!.osconfig,
      runContext: 'qcow',
      proxy: PROXY,
      noProxy: config.settings.noProxy,
      session: `p${process.pid}-origdef`,
      logFile,
    })
  ).image;
}, 1_800_000);

afterAll(async () => {
  if (qcow) await removeImage(qcow);
  if (common) await removeImage(common);
  rmSync(work, { recursive: true, force: true });
});

describe('the original role defaults, applied to the test image', () => {
  it('load the 7 modules and blacklist krbd', () => {
    const modules = cat(common!, '/etc/modules-load.d/airship.conf')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(modules).toEqual([
      '8021q',
      'bonding',
      'ip_vs',
      'ip_vs_rr',
      'ip_vs_wrr',
      'ip_vs_sh',
      'br_netfilter',
    ]);
    expect(cat(common!, '/etc/modprobe.d/airship-blacklist.conf')).toContain('blacklist krbd\n');
  });

  it('set all 24 sysctls and the 5 limits', () => {
    const sysctl = cat(common!, '/etc/sysctl.d/60-airship.conf')
      .split('\n')
      .filter((l) => l.includes(' = '));
    expect(sysctl).toHaveLength(24);
    expect(sysctl).toEqual(
      expect.arrayContaining([
        'net.nf_conntrack_max = 1048576',
        'net.ipv4.conf.default.rp_filter = 2',
        'net.ipv6.conf.lo.disable_ipv6 = 0',
        'kernel.sysrq = 8',
      ]),
    );
    const limits = cat(common!, '/etc/security/limits.d/60-airship.conf');
    expect(limits).toContain('0: hard core 0\n');
    expect(limits).toContain('root hard nofile 1048576\n');
    expect(limits).toContain('* soft nofile 65536\n');
  });

  it('write the grub arguments with crashkernel and the serial settings, and neutralise kdump-tools own reservation', () => {
    const grub = cat(common!, '/etc/default/grub.d/50-airship.cfg');
    expect(grub).toContain(
      'GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200n8 console=tty0 amd_iommu=on intel_iommu=on iommu=pt cgroup_disable=hugetlb dpdk-socket-mem=4096,4096 rcu_nocb_poll=true crashkernel=768M"',
    );
    expect(grub).toContain('GRUB_TIMEOUT=10\n');
    expect(grub).toContain(
      'GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"',
    );
    expect(cat(common!, '/etc/default/grub.d/kdump-tools.cfg')).not.toContain('crashkernel=');
  });

  it('carry a crash initramfs made at build time, so the first boot makes none, and kdump-tools own kernel hook back in place', () => {
    const kernel = run(common!, 'linux-version', 'list').trim().split('\n')[0]!;
    expect(kernel).toMatch(/^\d+\.\d+/);
    const initrd = run(common!, 'stat', '-c', '%s', `/var/lib/kdump/initrd.img-${kernel}`);
    expect(Number(initrd)).toBeGreaterThan(1_000_000);
    // kdump-config deletes and remakes the initramfs when this copy differs from /etc/kdump/sysctl.conf.
    expect(cat(common!, `/var/lib/kdump/latest_sysctls-${kernel}`)).toBe(
      cat(common!, '/etc/kdump/sysctl.conf'),
    );
    run(common!, 'test', '-x', '/etc/kernel/postinst.d/kdump-tools');
    expect(run(common!, 'dpkg-divert', '--list')).not.toContain('kdump-tools');
  });

  it('show the banners, with only our motd left in update-motd.d and the static motd emptied', () => {
    expect(cat(common!, '/etc/issue')).toContain(
      'Airship Node \\l: \\n.\\o\nKernel: \\s \\m \\r \\v\nIP address: \\4',
    );
    expect(run(common!, 'ls', '/etc/update-motd.d').trim()).toBe('05-airship');
    expect(cat(common!, '/etc/motd')).toBe('');
    const motd = run(common!, '/etc/update-motd.d/05-airship');
    expect(motd).toMatch(
      /^Airship Node, based on: Debian GNU\/Linux 12 \(bookworm\) \(GNU\/Linux \S+ x86_64\)\n$/,
    );
  });

  it('create the sample folder, file, unit and locked user, with the later permission change', () => {
    expect(run(common!, 'stat', '-c', '%a %U', '/testdir', '/testdir/test.sh')).toBe('755 root\n700 root\n');
    expect(cat(common!, '/etc/systemd/system/sample.service')).toContain('ExecStart=/bin/sleep infinity');
    expect(run(common!, 'readlink', '/etc/systemd/system/multi-user.target.wants/sample.service')).toContain(
      'sample.service',
    );
    expect(cat(common!, '/etc/passwd')).toMatch(/^test:x:\d+:\d+::\/home\/test:\/bin\/false$/m);
    expect(cat(common!, '/etc/shadow')).toMatch(/^test:!/m);
  });

  it('run scripts/common in name order with the proxy, and scripts/qcow only in the QCOW pass', () => {
    expect(cat(common!, '/etc/aib-scripts')).toBe(`first ${PROXY} ${PROXY} localhost,127.0.0.1\nsecond\n`);
    run(common!, 'sh', '-c', 'test ! -e /etc/aib-qcow-script');
    expect(cat(qcow!, '/etc/aib-qcow-script')).toBe(`qcow ${PROXY}\n`);
  });
});

describe("the original's control-plane QCOW2 cut from that image, read from its filesystems", () => {
  const disk = mkdtempSync('/var/tmp/aib-original-qcow-');
  let raw = '';
  let rootAt = 0;
  let bootAt = 0;
  let virtualSize = 0;
  /** The QCOW's grub.cfg, read once from its /boot filesystem. */
  let grub = '';

  beforeAll(async () => {
    const [artifact] = await cutImage({
      config: { ...config, imageRef: common! },
      settings: {
        ...config.settings,
        imageType: 'qcow',
        qcowNames: ['control-plane'],
        outDir: join(disk, 'out'),
        cacheDir: join(disk, 'cache'),
        bootTimeout: 0,
      },
    });
    if (!artifact) throw new Error('no artifact');
    virtualSize = (await qemuImgInfo(artifact.file)).virtualSize;
    const bundle = config.qcowBundles.find((b) => b.name === 'control-plane')!;
    const plan = planDisk(bundle.qcow, common!, 'f').plan!;
    rootAt = plan.root.startSector * 512;
    const boot = plan.partitions.find((p) => p.mount === '/boot');
    if (!boot) throw new Error('the control-plane bundle has no /boot partition');
    bootAt = boot.startSector * 512;
    raw = join(disk, 'control-plane.raw');
    await convertToRaw(artifact.file, raw);
    grub = await ext4Cat(raw, '/grub/grub.cfg', bootAt);
  }, 1_800_000);

  afterAll(() => {
    rmSync(disk, { recursive: true, force: true });
  });

  it("has the original's 19G capacity", () => {
    expect(virtualSize).toBe(19 * GiB);
  });

  it('loads the kernel modules and blacklists what the original did', async () => {
    const modules = await ext4Cat(raw, '/etc/modules-load.d/airship.conf', rootAt);
    for (const m of ['ip_vs', 'bonding', '8021q', 'br_netfilter']) expect(modules).toContain(`${m}\n`);
    expect(await ext4Exists(raw, '/etc/modprobe.d/airship-blacklist.conf', rootAt)).toBe(true);
  });

  it('carries the sysctls and limits', async () => {
    const sysctl = await ext4Cat(raw, '/etc/sysctl.d/60-airship.conf', rootAt);
    for (const line of [
      'net.bridge.bridge-nf-call-iptables = 1',
      'kernel.pid_max = 4194303',
      'kernel.sysrq = 8',
    ])
      expect(sysctl).toContain(line);
    expect(await ext4Cat(raw, '/etc/security/limits.d/60-airship.conf', rootAt)).toContain(
      'root hard nofile 1048576\n',
    );
  });

  it('boots with the grub arguments, crashkernel and the serial settings', async () => {
    for (const arg of [
      'console=ttyS0,115200n8',
      'intel_iommu=on',
      'cgroup_disable=hugetlb',
      'dpdk-socket-mem=4096,4096',
      'rcu_nocb_poll=true',
      'crashkernel=768M',
    ])
      expect(grub).toContain(arg);
    expect(grub).toContain('serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1');
  });

  it('shows the banner and carries the crash initramfs, so the first boot makes none', async () => {
    expect(await ext4Cat(raw, '/etc/issue', rootAt)).toContain('Airship Node');
    const kernel = /vmlinuz-(\S+)/.exec(grub)?.[1];
    expect(kernel).toBeDefined();
    expect(await ext4Exists(raw, `/var/lib/kdump/initrd.img-${kernel}`, rootAt)).toBe(true);
    expect(await ext4Cat(raw, '/etc/kernel/postinst.d/kdump-tools', rootAt)).toContain('mkinitramfs');
  });
});
