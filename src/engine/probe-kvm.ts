/**
 * Probes whether qemu can use KVM here, by running a guest: /dev/kvm can exist and open fine while KVM still
 * fails or hangs on the first instruction (nested virtualisation gaps), so only a run tells.
 */
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaseTag } from '../lease.js';
import { run } from './exec.js';
import type { ProbeResult } from './probe-types.js';

/** A boot sector that writes 1 to the isa-debug-exit port: qemu then exits with status (1 << 1) | 1 = 3. */
function bootSector(): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from([0xb0, 0x01, 0xe6, 0xf4, 0xf4, 0xeb, 0xfe]).copy(b); // mov al,1; out 0xf4,al; hlt; jmp $
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** Runs the tiny guest with `accel`; resolves true when it reached the exit port. */
export async function guestRuns(
  accel: 'kvm' | 'tcg',
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | true> {
  const dir = mkdtempSync(join(tmpdir(), `aib-kvm-${leaseTag()}-`));
  try {
    const img = join(dir, 'boot.img');
    writeFileSync(img, bootSector());
    await run(
      'qemu-system-x86_64',
      [
        '-accel',
        accel,
        '-M',
        'pc',
        '-nodefaults',
        '-display',
        'none',
        '-no-reboot',
        '-device',
        'isa-debug-exit,iobase=0xf4,iosize=0x04',
        '-drive',
        `file=${img},format=raw,if=floppy`,
      ],
      { timeoutMs, signal, okCodes: [3] },
    );
    return true;
  } catch (err) {
    // The first line says how it failed (exit code, timeout); qemu's own chatter follows.
    return ((err as Error).message.split('\n')[0] ?? '').replace(/:$/, '').slice(0, 200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Which accelerator boot-test will get; never throws. */
export async function probeKvm(signal?: AbortSignal, timeoutMs = 6000): Promise<ProbeResult> {
  const base = {
    id: 'kvm',
    title: 'KVM for qemu (else TCG)',
    neededBy: ['boot-test'],
    debianPackage: 'qemu-system-x86',
  };
  const tcgNote = 'boot tests fall back to TCG (works, several times slower)';
  if (!existsSync('/dev/kvm')) {
    return {
      ...base,
      status: 'warn',
      detail: `/dev/kvm does not exist: ${tcgNote}`,
      fix: 'enable virtualisation in firmware, or nested virtualisation for this VM, and load kvm_intel/kvm_amd',
    };
  }
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return {
      ...base,
      status: 'warn',
      detail: `/dev/kvm is not writable by this user: ${tcgNote}`,
      fix: 'add the user to group kvm',
    };
  }
  const r = await guestRuns('kvm', timeoutMs, signal);
  if (r === true) return { ...base, status: 'ok', detail: 'a test guest ran under KVM' };
  return {
    ...base,
    status: 'warn',
    detail: `/dev/kvm exists but a test guest failed under KVM (${r}): ${tcgNote}`,
    fix: "the host's nested virtualisation is incomplete; on the outer host enable nested KVM and host-passthrough for this VM",
  };
}
