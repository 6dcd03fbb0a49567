/**
 * The one KVM probe, for `doctor` and the boot tests alike: /dev/kvm can exist and open fine while KVM still
 * fails, hangs on the first instruction or aborts qemu under `-cpu host` (nested virtualisation gaps), so only a
 * run with the boot tests' own CPU setting tells. A Linux kernel booted to its banner is the proof the boot tests
 * take and record (`kvm-verdict.json` in the cache folder, per host and kernel release); doctor reports that
 * verdict when there is one, so both say the same, and otherwise runs a boot sector under `-cpu host`.
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaseTag } from '../lease.js';
import { run } from './exec.js';
import type { ProbeResult } from './probe-types.js';
import { type Accel, kvmBootsKernel } from './qemu.js';

/** What a kernel boot under KVM found on this host, as the boot tests record it. */
export interface KvmVerdict {
  accel: Accel;
  probedAt: string;
}

const VERDICT_FILE = 'kvm-verdict.json';
const verdictKey = () => `${hostname()} ${release()}`;
const KVM_DEVICE = '/dev/kvm';

/** Why `device` cannot serve KVM to this user, or null when it can be opened read-write. */
function deviceProblem(device: string): 'missing' | 'not-writable' | null {
  if (!existsSync(device)) return 'missing';
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return null;
  } catch {
    return 'not-writable';
  }
}

/** The recorded verdict for this host and kernel release, if any. Never throws. */
export function readKvmVerdict(cacheDir: string): KvmVerdict | undefined {
  try {
    const v = JSON.parse(readFileSync(join(cacheDir, VERDICT_FILE), 'utf8')) as KvmVerdict & { key: string };
    if (v.key === verdictKey() && (v.accel === 'kvm' || v.accel === 'tcg'))
      return { accel: v.accel, probedAt: String(v.probedAt) };
  } catch {
    // no verdict yet
  }
  return undefined;
}

/**
 * The accelerator boot tests use: TCG when `device` cannot be used now (whatever was recorded before), else the
 * recorded verdict, or (with a kernel at hand) a boot of `kernel` under KVM, recorded for next time; TCG when
 * neither is there.
 */
export async function kvmVerdict(
  cacheDir: string,
  kernel: string | null,
  device = KVM_DEVICE,
): Promise<Accel> {
  if (deviceProblem(device)) return 'tcg';
  const known = readKvmVerdict(cacheDir);
  if (known) return known.accel;
  if (!kernel) return 'tcg';
  const accel: Accel = (await kvmBootsKernel(kernel)) ? 'kvm' : 'tcg';
  await mkdir(cacheDir, { recursive: true });
  const probedAt = new Date().toISOString();
  await writeFile(
    join(cacheDir, VERDICT_FILE),
    `${JSON.stringify({ key: verdictKey(), accel, probedAt })}\n`,
  );
  return accel;
}

/** The running kernel's image, when the host keeps it readable in /boot (Debian and Ubuntu do). */
function hostKernel(): string | null {
  const path = `/boot/vmlinuz-${release()}`;
  try {
    accessSync(path, constants.R_OK);
    return path;
  } catch {
    return null;
  }
}

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
        // The boot tests' CPU under KVM: some hosts run a guest with the default model but abort on the host's.
        ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
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

/** What `probeKvm` looks at; every field has a default for a real run. */
export interface ProbeKvmOptions {
  signal?: AbortSignal;
  /** Where the boot tests record their verdict. */
  cacheDir?: string;
  /** How long the boot-sector guest may take. Default 6 s. */
  timeoutMs?: number;
  /** A Linux kernel to prove KVM with when no verdict is recorded. Default: the host's own, if readable. */
  kernel?: string | null;
  /** The KVM device. Default /dev/kvm. */
  device?: string;
}

/** Which accelerator boot tests will get, and why; never throws. */
export async function probeKvm(opts: ProbeKvmOptions = {}): Promise<ProbeResult> {
  const { signal, cacheDir, timeoutMs = 6000, device = KVM_DEVICE } = opts;
  const kernel = opts.kernel === undefined ? hostKernel() : opts.kernel;
  const base = {
    id: 'kvm',
    title: 'KVM for qemu (else TCG)',
    neededBy: ['boot-test'],
    debianPackage: 'qemu-system-x86',
  };
  const tcgNote = 'boot tests fall back to TCG (works, several times slower)';
  const nestedFix =
    "the host's nested virtualisation is incomplete; on the outer host enable nested KVM and host-passthrough for this VM";
  const problem = deviceProblem(device);
  if (problem === 'missing')
    return {
      ...base,
      status: 'warn',
      detail: `${device} does not exist: ${tcgNote}`,
      fix: 'enable virtualisation in firmware, or nested virtualisation for this VM, and load kvm_intel/kvm_amd',
    };
  if (problem === 'not-writable')
    return {
      ...base,
      status: 'warn',
      detail: `${device} is not writable by this user: ${tcgNote}`,
      fix: 'add the user to group kvm',
    };
  // With the host's own kernel at hand, doctor takes the boot tests' proof itself (and records it for them).
  if (cacheDir && kernel && !readKvmVerdict(cacheDir)) await kvmVerdict(cacheDir, kernel, device);
  const known = cacheDir ? readKvmVerdict(cacheDir) : undefined;
  if (known?.accel === 'kvm')
    return {
      ...base,
      status: 'ok',
      detail: `a Linux kernel booted under KVM (boot-test probe, ${known.probedAt})`,
    };
  if (known)
    return {
      ...base,
      status: 'warn',
      detail: `${device} exists but a Linux kernel did not boot under KVM (boot-test probe, ${known.probedAt}): ${tcgNote}`,
      fix: nestedFix,
    };
  const r = await guestRuns('kvm', timeoutMs, signal);
  // A boot sector is not a kernel: on some hosts it runs under KVM while Linux hangs. Until a kernel has booted,
  // a QCOW boot test uses TCG and an ISO boot test tries its own kernel first, so doctor cannot say "ok".
  if (r === true)
    return {
      ...base,
      status: 'warn',
      detail: `a test guest ran under KVM with -cpu host, but no Linux kernel has booted under KVM here yet: boot tests use TCG until one does (an ISO boot test tries its kernel first, and records what it finds)`,
      fix: `run a boot test of an ISO once (its verdict is kept in ${cacheDir ?? 'the cache folder'}/${VERDICT_FILE})`,
    };
  return {
    ...base,
    status: 'warn',
    detail: `${device} exists but a test guest failed under KVM with -cpu host (${r}): ${tcgNote}`,
    fix: nestedFix,
  };
}
