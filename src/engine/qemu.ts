/**
 * qemu-system-x86_64: boots an artifact with its serial console captured, and probes whether KVM really
 * works. On some hosts /dev/kvm opens and a boot sector runs, yet a Linux kernel never prints a line, so
 * the probe boots a real kernel and waits for its banner.
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { run } from './exec.js';

/** No window, no default devices, exit rather than reboot, the serial console on stdout: how every guest here runs. */
const HEADLESS = ['-display', 'none', '-nodefaults', '-no-reboot', '-serial', 'stdio'] as const;

export type Accel = 'kvm' | 'tcg';
export type Firmware = 'bios' | 'uefi';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';

/**
 * True when KVM boots `kernel` to its first console line within `waitMs`. Whether /dev/kvm can be opened at all
 * is the caller's check (probe-kvm.ts). Never throws: any failure means "use TCG".
 */
export async function kvmBootsKernel(kernel: string, waitMs = 15_000): Promise<boolean> {
  const ctl = new AbortController();
  let seen = false;
  try {
    await run(
      'qemu-system-x86_64',
      [
        '-accel',
        'kvm',
        '-machine',
        'q35',
        '-cpu',
        'host',
        '-m',
        '256',
        ...HEADLESS,
        '-kernel',
        kernel,
        '-append',
        'console=ttyS0 panic=-1 earlyprintk=ttyS0',
      ],
      {
        signal: ctl.signal,
        timeoutMs: waitMs,
        captureStdout: false,
        onOutput: (s) => {
          if (/Linux version|Command line:/.test(s)) {
            seen = true;
            ctl.abort();
          }
        },
      },
    );
  } catch {
    // Killed on success (abort) or on timeout/crash; `seen` tells which.
  }
  return seen;
}

export interface BootOptions {
  accel: Accel;
  firmware: Firmware;
  /** Disk image (qcow2 overlay) or ISO. */
  media: { kind: 'disk' | 'cdrom'; file: string; format: 'qcow2' | 'raw' };
  /** Extra read-only CD-ROMs (cloud-init seeds). */
  seeds?: readonly string[];
  memoryMiB: number;
  /** Virtual CPUs. */
  cpus: number;
  serialLog: string;
  /** Scratch folder for the UEFI variable store copy. */
  scratch: string;
  timeoutMs: number;
  /** Resolves the boot as passed when it returns true for the serial output so far. */
  done: (serialSoFar: string) => boolean;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface BootResult {
  passed: boolean;
  serial: string;
  elapsedMs: number;
  reason?: string;
}

/** Boots once and resolves when `done` matches, the time runs out, qemu exits or `signal` aborts. */
export async function bootVm(o: BootOptions): Promise<BootResult> {
  const args = [
    '-accel',
    o.accel,
    '-m',
    String(o.memoryMiB),
    '-smp',
    String(o.cpus),
    ...HEADLESS,
    '-nic',
    'user,model=virtio-net-pci',
  ];
  if (o.accel === 'kvm') args.push('-cpu', 'host');
  if (o.firmware === 'uefi') {
    const vars = join(o.scratch, `OVMF_VARS-${process.pid}-${Date.now()}.fd`);
    await copyFile(OVMF_VARS, vars);
    args.push(
      '-machine',
      'q35,smm=off',
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${vars}`,
    );
  } else {
    args.push('-machine', 'q35');
  }
  if (o.media.kind === 'cdrom') {
    args.push(
      '-drive',
      `file=${o.media.file},format=raw,media=cdrom,readonly=on,if=none,id=cd0`,
      '-device',
      'ahci,id=ahci0',
      '-device',
      'ide-cd,drive=cd0,bus=ahci0.0,bootindex=1',
    );
  } else {
    args.push('-drive', `file=${o.media.file},format=${o.media.format},if=virtio,cache=unsafe`);
  }
  (o.seeds ?? []).forEach((seed, n) => {
    args.push('-drive', `file=${seed},format=raw,media=cdrom,readonly=on,if=ide,index=${2 + n}`);
  });

  const started = Date.now();
  const ctl = new AbortController();
  const onOuterAbort = () => ctl.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let serial = '';
  let partial = '';
  let passed = false;
  let reason: string | undefined;
  try {
    await run('qemu-system-x86_64', args, {
      signal: ctl.signal,
      timeoutMs: o.timeoutMs,
      logFile: o.serialLog,
      captureStdout: false,
      onOutput: (s) => {
        serial += s;
        if (serial.length > 4_000_000) serial = serial.slice(-2_000_000);
        partial += s;
        const lines = partial.split(/\r?\n/);
        partial = lines.pop() ?? '';
        for (const l of lines) o.onLine?.(l);
        if (!passed && o.done(serial)) {
          passed = true;
          ctl.abort();
        }
      },
    });
    reason = 'qemu exited before the login prompt';
  } catch (err) {
    if (!passed) {
      reason = o.signal?.aborted ? 'aborted' : (err as Error).message.split('\n')[0];
    }
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
  if (o.signal?.aborted && !passed) throw new BuildError('boot test aborted');
  return { passed, serial, elapsedMs: Date.now() - started, ...(reason && !passed ? { reason } : {}) };
}
