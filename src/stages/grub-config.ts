/**
 * GRUB configuration for the QCOW: a small config embedded in the BIOS core image and the UEFI executable
 * that finds the /boot filesystem by UUID, and the grub.cfg there that boots the kernel with root=UUID.
 * One grub.cfg serves both firmware types, so BIOS and UEFI boot the same entry.
 */
import type { OsconfigVars } from '../config/types.js';
import type { DiskPlan } from './qcow-layout.js';

const COMMON_MODULES = [
  'part_gpt',
  'part_msdos',
  'ext2',
  'xfs',
  'fat',
  'search',
  'search_fs_uuid',
  'normal',
  'configfile',
  'linux',
  'echo',
  'serial',
  'terminal',
  'test',
  'gzio',
  'ls',
  'cat',
];
export const BIOS_MODULES = ['biosdisk', ...COMMON_MODULES];
export const EFI_MODULES = [...COMMON_MODULES, 'all_video'];

/** Path of /boot inside the filesystem that holds it (`/boot` on root, `` on its own partition). */
export function bootPathOn(plan: DiskPlan): string {
  if (plan.boot.mount === '/') return '/boot';
  return '/boot'.slice(plan.boot.mount.length);
}

export function earlyConfig(plan: DiskPlan): string {
  const uuid = plan.boot.fs?.uuid ?? '';
  return [
    `search --no-floppy --fs-uuid --set=root ${uuid}`,
    `set prefix=($root)${bootPathOn(plan)}/grub`,
    'configfile $prefix/grub.cfg',
    '',
  ].join('\n');
}

/**
 * The kernel command line with a serial console and the kdump reservation (`kdump_tools.crashkernel`, which
 * the original added through /etc/default/grub.d). The config loader has already merged the bundle's
 * `grub_cmdline_linux_default_append` into GRUB_CMDLINE_LINUX_DEFAULT.
 */
export function kernelCmdline(os: OsconfigVars): string {
  const items = os.grub.GRUB_CMDLINE_LINUX_DEFAULT;
  const words = items.map((i) => (i.value === '' ? i.name : `${i.name}=${i.value}`));
  if (!items.some((i) => i.name === 'console' && i.value.startsWith('ttyS0')))
    words.push('console=ttyS0,115200');
  if (os.kdump_tools.crashkernel !== '' && !items.some((i) => i.name === 'crashkernel'))
    words.push(`crashkernel=${os.kdump_tools.crashkernel}`);
  return words.join(' ');
}

/**
 * GRUB's `serial` command from GRUB_SERIAL_COMMAND (`--name=value` each). A speed written as the original
 * writes it (`ttyS0,115200n8`) gives its digits, as our /etc/default/grub.d template does.
 */
export function serialCommand(os: OsconfigVars): string {
  const items = os.grub.GRUB_SERIAL_COMMAND;
  if (items.length === 0) return 'serial --unit=0 --speed=115200';
  const args = items.map((i) => {
    const value = i.name === 'speed' ? (/(?:^|,)(\d+)/.exec(i.value)?.[1] ?? i.value) : i.value;
    return `--${i.name}=${value}`;
  });
  return `serial ${args.join(' ')}`;
}

export function grubCfg(plan: DiskPlan, kernelVersion: string, os: OsconfigVars): string {
  const bp = bootPathOn(plan);
  const rootUuid = plan.root.fs?.uuid ?? '';
  return [
    `set timeout=${os.grub.GRUB_TIMEOUT}`,
    serialCommand(os),
    'terminal_input console serial',
    'terminal_output console serial',
    `menuentry 'Debian GNU/Linux ${kernelVersion}' {`,
    `  search --no-floppy --fs-uuid --set=root ${plan.boot.fs?.uuid ?? ''}`,
    `  linux ${bp}/vmlinuz-${kernelVersion} root=UUID=${rootUuid} ro ${kernelCmdline(os)}`,
    `  initrd ${bp}/initrd.img-${kernelVersion}`,
    '}',
    '',
  ].join('\n');
}
