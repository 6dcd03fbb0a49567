import { describe, expect, it } from 'vitest';
import {
  bootPathOn,
  earlyConfig,
  grubCfg,
  kernelCmdline,
  serialCommand,
} from '../../../src/stages/grub-config.js';
import { planDisk } from '../../../src/stages/qcow-layout.js';
import { cutTestConfig, osconfig, xfsLayout } from '../../integration/cut/fixture-config.js';

function plan(partitions?: ReturnType<typeof xfsLayout>) {
  const b = cutTestConfig().qcowBundles[0];
  if (!b) throw new Error('fixture');
  const r = planDisk(partitions ? { ...b.qcow, partitions } : b.qcow, 'seed', 'f');
  if (!r.plan) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

describe('grub config', () => {
  it('finds a separate /boot by UUID and boots root by UUID', () => {
    const p = plan();
    expect(bootPathOn(p)).toBe('');
    expect(earlyConfig(p)).toBe(
      `search --no-floppy --fs-uuid --set=root ${p.boot.fs?.uuid}\nset prefix=($root)/grub\nconfigfile $prefix/grub.cfg\n`,
    );
    const cfg = grubCfg(p, '6.1.0-9-amd64', osconfig());
    expect(cfg).toContain(
      `linux /vmlinuz-6.1.0-9-amd64 root=UUID=${p.root.fs?.uuid} ro console=tty0 console=ttyS0,115200n8`,
    );
    expect(cfg).toContain('initrd /initrd.img-6.1.0-9-amd64');
  });

  it('uses /boot on the root filesystem when there is no /boot partition', () => {
    const p = plan(xfsLayout());
    expect(bootPathOn(p)).toBe('/boot');
    expect(grubCfg(p, 'K', osconfig())).toContain('linux /boot/vmlinuz-K');
  });

  it('adds a serial console when the command line has none, and does not repeat the merged additions', () => {
    const os = osconfig();
    // As the loader hands it over: the append list already merged into the command line, and kept for display.
    os.grub.GRUB_CMDLINE_LINUX_DEFAULT = [
      { name: 'quiet', value: '' },
      { name: 'hugepages', value: '16' },
    ];
    os.grub_cmdline_linux_default_append = [{ name: 'hugepages', value: '16' }];
    expect(kernelCmdline(os)).toBe('quiet hugepages=16 console=ttyS0,115200');
  });

  it('carries kdump_tools.crashkernel on the kernel command line, once', () => {
    const os = osconfig();
    os.kdump_tools.crashkernel = '768M';
    expect(
      kernelCmdline(os)
        .split(' ')
        .filter((w) => w.startsWith('crashkernel=')),
    ).toEqual(['crashkernel=768M']);
    os.grub.GRUB_CMDLINE_LINUX_DEFAULT = [
      ...os.grub.GRUB_CMDLINE_LINUX_DEFAULT,
      { name: 'crashkernel', value: '1G' },
    ];
    expect(
      kernelCmdline(os)
        .split(' ')
        .filter((w) => w.startsWith('crashkernel=')),
    ).toEqual(['crashkernel=1G']);
  });

  it("writes GRUB's serial command from GRUB_SERIAL_COMMAND (the original's speed spelling gives its digits)", () => {
    const os = osconfig();
    os.grub.GRUB_SERIAL_COMMAND = [
      { name: 'speed', value: 'ttyS0,115200n8' },
      { name: 'unit', value: '1' },
      { name: 'word', value: '8' },
      { name: 'parity', value: 'no' },
      { name: 'stop', value: '1' },
    ];
    expect(serialCommand(os)).toBe('serial --speed=115200 --unit=1 --word=8 --parity=no --stop=1');
    expect(grubCfg(plan(), 'K', os)).toContain(
      '\nserial --speed=115200 --unit=1 --word=8 --parity=no --stop=1\n',
    );
    os.grub.GRUB_SERIAL_COMMAND = [{ name: 'speed', value: '9600' }];
    expect(serialCommand(os)).toBe('serial --speed=9600');
    os.grub.GRUB_SERIAL_COMMAND = [];
    expect(serialCommand(os)).toBe('serial --unit=0 --speed=115200');
  });
});
