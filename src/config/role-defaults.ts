/**
 * The original's role defaults that are tables of facts (grub, sysctl, limits, kernel modules, banners, the
 * QCOW's partitions). Each variables file's schema (src/config/schemas/) carries every default, these
 * included; the package lists and repos themselves live in the bundled `defaults/manifests/` folder.
 */
import type { PartitionInput } from './schemas/qcow.js';

const nv = (name: string, value: string) => ({ name, value });
const nvs = (pairs: [string, string][]) => pairs.map(([name, value]) => nv(name, value));

/**
 * The original's grub settings: serial console first then VGA (the last `console=` is /dev/console), IOMMU in
 * pass-through, hugetlb cgroup off, DPDK socket memory and RCU callback polling for data-plane nodes. The
 * serial speed is written as the original writes it; the `--speed` given to GRUB takes only its digits.
 */
export const GRUB_DEFAULTS = {
  GRUB_TIMEOUT: 10,
  GRUB_CMDLINE_LINUX_DEFAULT: nvs([
    ['console', 'ttyS0,115200n8'],
    ['console', 'tty0'],
    ['amd_iommu', 'on'],
    ['intel_iommu', 'on'],
    ['iommu', 'pt'],
    ['cgroup_disable', 'hugetlb'],
    ['dpdk-socket-mem', '4096,4096'],
    ['rcu_nocb_poll', 'true'],
  ]),
  GRUB_SERIAL_COMMAND: nvs([
    ['speed', 'ttyS0,115200n8'],
    ['unit', '0'],
    ['word', '8'],
    ['parity', 'no'],
    ['stop', '1'],
  ]),
};

/** The original's 24 kernel settings: bridge netfilter, conntrack, ARP, TCP keepalive, neighbour tables, RA off. */
export const SYSCTL_DEFAULTS = [
  nv('net.bridge.bridge-nf-call-ip6tables', '1'),
  nv('net.bridge.bridge-nf-call-iptables', '1'),
  nv('net.nf_conntrack_max', '1048576'),
  nv('kernel.panic', '3'),
  nv('kernel.pid_max', '4194303'),
  nv('net.ipv4.conf.default.arp_accept', '1'),
  nv('net.ipv4.conf.all.arp_accept', '1'),
  nv('net.ipv4.tcp_keepalive_intvl', '15'),
  nv('net.ipv4.tcp_keepalive_time', '30'),
  nv('net.ipv4.tcp_keepalive_probes', '8'),
  nv('net.ipv4.tcp_retries2', '5'),
  nv('net.ipv4.neigh.default.gc_thresh1', '4096'),
  nv('net.ipv4.neigh.default.gc_thresh3', '16384'),
  nv('net.ipv4.conf.default.rp_filter', '2'),
  nv('net.ipv6.conf.all.accept_ra', '0'),
  nv('net.ipv6.conf.default.accept_ra', '0'),
  nv('net.ipv6.conf.lo.accept_ra', '0'),
  nv('net.ipv6.conf.lo.disable_ipv6', '0'),
  nv('net.netfilter.nf_conntrack_acct', '1'),
  nv('fs.suid_dumpable', '2'),
  nv('fs.inotify.max_user_watches', '1048576'),
  nv('fs.protected_hardlinks', '1'),
  nv('fs.protected_symlinks', '1'),
  nv('kernel.sysrq', '8'),
];

const limit = (name: string, domain: string, type: 'soft' | 'hard' | '-', item: string, value: string) => ({
  name,
  domain,
  type,
  item,
  value,
});

/** No core dumps for system users; a million open files for root and everyone (soft 65536). */
export const LIMITS_DEFAULTS = [
  limit('core_dump', '0:', 'hard', 'core', '0'),
  limit('nofile-root-soft', 'root', 'soft', 'nofile', '65536'),
  limit('nofile-root-hard', 'root', 'hard', 'nofile', '1048576'),
  limit('nofile-all-soft', '*', 'soft', 'nofile', '65536'),
  limit('nofile-all-hard', '*', 'hard', 'nofile', '1048576'),
];

/** VLANs, bonds, IPVS (kube-proxy's ipvs mode) and bridge netfilter loaded at boot; krbd never. */
export const KERNEL_DEFAULTS = {
  modules: {
    load: ['8021q', 'bonding', 'ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'br_netfilter'].map((name) => ({
      name,
    })),
    blacklist: [{ name: 'krbd' }],
  },
};

/** `/etc/issue` escapes: host name, tty, OS, kernel, address; the motd script prints the distribution. */
export const BANNER_DEFAULTS = {
  login: 'Airship Node \\l: \\n.\\o\nKernel: \\s \\m \\r \\v\nIP address: \\4\n',
  motd: '#!/bin/sh\n. /etc/lsb-release\nprintf "Airship Node, based on: %s (%s %s %s)\\n" "$DISTRIB_DESCRIPTION" "$(uname -o)" "$(uname -r)" "$(uname -m)"\n',
};

const fstab = (fsck: number) => ({ options: 'defaults,errors=remount-ro,noatime', dump: 0, fsck });

/**
 * GPT layout of the target disk: root is partition 1 (Ironic's config-drive injection expects that), then
 * bios_grub, the ESP and /boot placed before it on the disk.
 */
export const PARTITION_DEFAULTS: PartitionInput[] = [
  {
    mount: '/',
    mount_order: 0,
    part_start: '1284MiB',
    part_end: '100%',
    flags: [],
    filesystem: { type: 'ext4', fstab: fstab(1) },
  },
  { mount: 'none', mount_order: 99, part_start: '1MiB', part_end: '5MiB', flags: ['bios_grub'] },
  {
    mount: '/boot/efi',
    mount_order: 2,
    part_start: '5MiB',
    part_end: '516MiB',
    flags: ['esp'],
    filesystem: { type: 'vfat', fstab: fstab(1) },
  },
  {
    mount: '/boot',
    mount_order: 1,
    part_start: '516MiB',
    part_end: '1284MiB',
    flags: [],
    filesystem: { type: 'ext4', fstab: fstab(2) },
  },
];

export const ISO_IMAGE_NAME = 'ephemeral.iso';
