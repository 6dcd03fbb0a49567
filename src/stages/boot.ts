/**
 * Boot tests: boot an ISO or a QCOW2 under qemu on BIOS and/or UEFI and wait for `<hostname> login:` on the
 * serial console. KVM is used when a real kernel boots under it (the verdict is cached per host), TCG
 * otherwise. A QCOW boots from a throw-away overlay with a NoCloud seed that names the host, so the
 * artifact is never written to.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { kvmVerdict } from '../engine/probe-kvm.js';
import { type Accel, bootVm, type Firmware } from '../engine/qemu.js';
import { createOverlay } from '../engine/qemu-img.js';
import { extractFromIso, makeDataIso } from '../engine/xorriso.js';
import { BuildError } from '../errors.js';
import { leaseTag } from '../lease.js';
import { type ProgressListener, progressOf } from '../progress.js';
import { inLanes } from './lanes.js';

export interface BootTestInput {
  artifact: string;
  kind: 'iso' | 'qcow';
  firmware: readonly Firmware[];
  timeoutSec: number;
  /**
   * Expected in the prompt: the one put in the seed (QCOW); for an ISO, default is the hostname of the
   * config-drive's meta_data.json inside it.
   */
  hostname?: string;
  cacheDir: string;
  logDir: string;
  /** Force an accelerator instead of probing. */
  accel?: Accel;
  /** Guests booted at once (default: one per core, at most two). */
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface BootOutcome {
  firmware: Firmware;
  accel: Accel;
  passed: boolean;
  elapsedMs: number;
  serialLog: string;
}

const PROMPT = /(\S+) login:/;

/** The hostname the ISO's config-drive gives the live system. @throws BuildError when it has none. */
export async function isoHostname(iso: string, scratch: string): Promise<string> {
  const f = join(scratch, 'meta_data.json');
  await extractFromIso(iso, '/openstack/latest/meta_data.json', f);
  const m = JSON.parse(await readFile(f, 'utf8')) as { hostname?: unknown; name?: unknown };
  const h = typeof m.hostname === 'string' ? m.hostname : typeof m.name === 'string' ? m.name : '';
  if (!h)
    throw new BuildError(
      `${iso}: openstack/latest/meta_data.json has no hostname to check the prompt against`,
    );
  return h;
}

/** A hostname for a QCOW's seed derived from its file name (letters, digits and dashes). */
export function seedHostname(artifact: string): string {
  const stem = basename(artifact)
    .replace(/\.qcow2$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-');
  return `${stem}-boot`.replace(/^-+/, '').slice(0, 60);
}

/**
 * Two seeds naming the host: a NoCloud `cidata` volume and an OpenStack `config-2` config-drive (what
 * Ironic attaches when it deploys these images). cloud-init takes whichever its datasource list finds
 * first; both say the same.
 */
async function makeSeeds(scratch: string, host: string, signal?: AbortSignal): Promise<string[]> {
  const nc = join(scratch, 'nocloud');
  await mkdir(nc);
  await writeFile(join(nc, 'meta-data'), `instance-id: ${host}\nlocal-hostname: ${host}\n`);
  await writeFile(join(nc, 'user-data'), `#cloud-config\nhostname: ${host}\n`);
  const cd = join(scratch, 'configdrive');
  await mkdir(join(cd, 'openstack/latest'), { recursive: true });
  await writeFile(
    join(cd, 'openstack/latest/meta_data.json'),
    `${JSON.stringify({ uuid: host, hostname: host, name: host })}\n`,
  );
  await writeFile(join(cd, 'openstack/latest/user_data'), '#cloud-config\n');
  const out = [join(scratch, 'nocloud.iso'), join(scratch, 'config-2.iso')];
  await makeDataIso(nc, out[0] as string, 'cidata', signal);
  await makeDataIso(cd, out[1] as string, 'config-2', signal);
  return out;
}

/**
 * vCPUs for each of `guests` guests booting at once: the cores each has to itself, two at most. Under TCG a
 * second vCPU sharing a core with another guest's slows both (here one ISO's BIOS and UEFI boots side by side
 * took 112 s with two vCPUs each, 95 s with one; alone, two vCPUs boot it in 61 s, one in 82 s).
 */
export function guestCpus(cores: number, guests: number): number {
  return Math.max(1, Math.min(2, Math.floor(cores / Math.max(1, guests))));
}

/**
 * Boots `artifact` once per firmware.
 * @throws BuildError with the tail of the serial log when a boot does not reach the expected prompt.
 */
export async function bootTestArtifact(i: BootTestInput): Promise<BootOutcome[]> {
  await mkdir(i.logDir, { recursive: true });
  await mkdir(i.cacheDir, { recursive: true });
  const scratch = await mkdtemp(join(i.cacheDir, `boot-${leaseTag()}-`));
  try {
    let kernel: string | null = null;
    if (i.kind === 'iso' && !i.accel) {
      kernel = join(scratch, 'vmlinuz');
      await extractFromIso(i.artifact, '/live/vmlinuz', kernel).catch(() => {
        kernel = null;
      });
    }
    const accel = i.accel ?? (await kvmVerdict(i.cacheDir, kernel));
    const expected =
      i.hostname ?? (i.kind === 'iso' ? await isoHostname(i.artifact, scratch) : seedHostname(i.artifact));
    const seeds: string[] = [];
    if (i.kind === 'qcow') seeds.push(...(await makeSeeds(scratch, expected, i.signal)));
    const cores = availableParallelism();
    const lanes = i.parallel ?? Math.min(2, cores);
    const cpus = guestCpus(cores, Math.min(lanes, i.firmware.length));
    const bootOne = async (fw: Firmware): Promise<BootOutcome> => {
      const stage = `boot:${basename(i.artifact)}:${fw}`;
      const serialLog = join(i.logDir, `boot-${basename(i.artifact)}-${fw}.log`);
      await rm(serialLog, { force: true });
      let media: { kind: 'disk' | 'cdrom'; file: string; format: 'qcow2' | 'raw' };
      if (i.kind === 'qcow') {
        const overlay = join(scratch, `overlay-${fw}.qcow2`);
        await createOverlay(i.artifact, 'qcow2', overlay);
        media = { kind: 'disk', file: overlay, format: 'qcow2' };
      } else media = { kind: 'cdrom', file: i.artifact, format: 'raw' };
      i.onProgress?.({
        stage,
        kind: 'start',
        message: `booting under ${accel.toUpperCase()}, waiting up to ${i.timeoutSec} s for "${expected} login:"`,
      });
      let last = '';
      const started = Date.now();
      const ticker = setInterval(() => {
        const seconds = Math.round((Date.now() - started) / 1000);
        i.onProgress?.(progressOf(stage, last.slice(0, 100), seconds, i.timeoutSec, 's'));
      }, 15_000);
      let r: Awaited<ReturnType<typeof bootVm>>;
      try {
        r = await bootVm({
          accel,
          firmware: fw,
          media,
          seeds,
          memoryMiB: 1536,
          cpus,
          serialLog,
          scratch,
          timeoutMs: i.timeoutSec * 1000,
          done: (s) => PROMPT.test(s),
          onLine: (l) => {
            // biome-ignore lint/suspicious/noControlCharactersInRegex: serial output carries ANSI escapes
            const clean = l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim();
            if (clean) last = clean;
          },
          ...(i.signal ? { signal: i.signal } : {}),
        });
      } finally {
        clearInterval(ticker);
      }
      const tail = r.serial.split(/\r?\n/).slice(-25).join('\n');
      if (!r.passed)
        throw new BuildError(
          `${stage}: no login prompt (${r.reason ?? 'unknown'}); serial log ${serialLog}:\n${tail}`,
          { stage, logFile: serialLog, logTail: tail },
        );
      const shown = PROMPT.exec(r.serial)?.[1];
      if (shown !== expected)
        throw new BuildError(
          `${stage}: the prompt shows host "${shown}", expected "${expected}" (configuration not applied); serial log ${serialLog}`,
          { stage, logFile: serialLog, logTail: tail },
        );
      i.onProgress?.({
        stage,
        kind: 'done',
        elapsedMs: r.elapsedMs,
        message: `"${shown} login:" after ${(r.elapsedMs / 1000).toFixed(0)} s`,
      });
      return { firmware: fw, accel, passed: true, elapsedMs: r.elapsedMs, serialLog };
    };
    // Every boot finishes before the first failure is reported.
    return await inLanes(i.firmware, lanes, bootOne);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
