/**
 * The original's control-plane bundle cut from the shared test image configured with the bundled defaults (the
 * original's role defaults, translated to Debian 12), read back from the QCOW2's own filesystems with debugfs:
 * what the original's node carried is on the disk, not only in the image. No boot here (test/e2e boots).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

const GiB = 1024 ** 3;
const work = mkdtempSync('/var/tmp/aib-original-qcow-');
let image: string | undefined;
let raw = '';
let rootAt = 0;
let bootAt = 0;
let virtualSize = 0;
/** The QCOW's grub.cfg, read once from its /boot filesystem. */
let grub = '';

beforeAll(async () => {
  const manifests = join(work, 'manifests');
  mkdirSync(manifests);
  const config: BuildConfig = await testBuildConfig(manifests, TEST_SETTINGS);
  const base = await builtImage();
  image = (
    await applyOsconfig({
      image: base.imageId,
      vars: config.osconfig,
      runContext: 'common',
      proxy: '',
      noProxy: config.settings.noProxy,
      session: `p${process.pid}-origqcow`,
      logFile: join(work, 'osconfig.log'),
    })
  ).image;
  const [artifact] = await cutImage({
    config: { ...config, imageRef: image },
    settings: {
      ...config.settings,
      imageType: 'qcow',
      qcowNames: ['control-plane'],
      outDir: join(work, 'out'),
      cacheDir: join(work, 'cache'),
      bootTimeout: 0,
    },
  });
  if (!artifact) throw new Error('no artifact');
  virtualSize = (await qemuImgInfo(artifact.file)).virtualSize;
  const bundle = config.qcowBundles.find((b) => b.name === 'control-plane')!;
  const plan = planDisk(bundle.qcow, `${image}:control-plane`, 'f').plan!;
  rootAt = plan.root.startSector * 512;
  const boot = plan.partitions.find((p) => p.mount === '/boot');
  if (!boot) throw new Error('the control-plane bundle has no /boot partition');
  bootAt = boot.startSector * 512;
  raw = join(work, 'control-plane.raw');
  await convertToRaw(artifact.file, raw);
  grub = await ext4Cat(raw, '/grub/grub.cfg', bootAt);
}, 1_800_000);

afterAll(async () => {
  if (image) await removeImage(image);
  rmSync(work, { recursive: true, force: true });
});

describe("the original's control-plane QCOW2, read from its filesystems", () => {
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
