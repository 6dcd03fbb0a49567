/**
 * Leases: how a run names what it leaves on disk and in the Docker Engine while it works (temp outputs,
 * scratch folders, container and image labels), so that a later run can tell the leftovers of a dead run from
 * the work of a live one. A lease is host + boot id + pid namespace + pid + the process's start time: a pid
 * alone is reused by the kernel, but no two processes of one boot and namespace share a pid and a start time.
 *
 * A leaf module like errors.ts: it reads /proc but spawns nothing, so every layer may use it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { holderInNamespace, INIT_PID_NAMESPACE, pidNamespaceOf } from './pid-namespace.js';

/** Who holds a temp name or a label: a process of one boot of one host, in one pid namespace. */
export interface Lease {
  /** First 8 hex digits of sha256(hostname): names the host without writing its name into file names. */
  host: string;
  /** First 8 hex digits of /proc/sys/kernel/random/boot_id; `00000000` when the kernel does not say. */
  boot: string;
  /**
   * Inode of the process's pid namespace; 0 when unknown. A container has its own, even with the host's network
   * and name: its pids mean nothing on the host, nor the host's in it.
   */
  ns: number;
  /** The pid in that namespace. */
  pid: number;
  /** Start time of the process in clock ticks since boot (field 22 of /proc/<pid>/stat); 0 when unknown. */
  start: number;
}

/**
 * What a lease's holder is now. `foreign`: another host's, or one this host cannot judge; such leftovers
 * are never removed.
 */
export type LeaseState = 'alive' | 'dead' | 'foreign';

const UNKNOWN_BOOT = '00000000';
// `n` marks the namespace field: a tag of earlier versions (no namespace) is never read as one of these.
const TAG = /lease-([0-9a-f]{8})-([0-9a-f]{8})-n(\d{1,10})-(\d{1,10})-(\d{1,20})(?![0-9])/;

/**
 * Start time of process `pid` in clock ticks since boot, or null when there is no such process.
 * Field 22 of /proc/<pid>/stat; the fields are counted after the command name's closing parenthesis, since
 * the name itself may hold spaces and parentheses.
 */
export function processStartTime(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : null;
}

function bootId(): string {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().replace(/-/g, '');
    return /^[0-9a-f]{8}/.test(id) ? id.slice(0, 8) : UNKNOWN_BOOT;
  } catch {
    return UNKNOWN_BOOT;
  }
}

function hostHash(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

let own: Lease | undefined;

/** This process's lease. */
export function ownLease(): Lease {
  own ??= {
    host: hostHash(),
    boot: bootId(),
    ns: pidNamespaceOf('self'),
    pid: process.pid,
    start: processStartTime(process.pid) ?? 0,
  };
  return own;
}

/** The lease as it appears in names and labels: `lease-<host>-<boot>-n<ns>-<pid>-<start>`. */
export function leaseTag(l: Lease = ownLease()): string {
  return `lease-${l.host}-${l.boot}-n${l.ns}-${l.pid}-${l.start}`;
}

/** The lease written into `name` (a file name or a label value), or null when it holds none. */
export function findLease(name: string): Lease | null {
  const m = TAG.exec(name);
  if (!m) return null;
  return { host: m[1] ?? '', boot: m[2] ?? '', ns: Number(m[3]), pid: Number(m[4]), start: Number(m[5]) };
}

/**
 * A fresh name for something this run creates: `<prefix><lease tag>-<random><suffix>`. Unique per call, so
 * creating it with `O_EXCL` never meets an existing file unless someone else planted one.
 */
export function leasedName(prefix: string, suffix = ''): string {
  return `${prefix}${leaseTag()}-${randomBytes(4).toString('hex')}${suffix}`;
}

/**
 * Judges a lease found on a leftover.
 * * same boot, other pid namespace (a container's run, whatever its host name): judged only from the initial
 *   namespace as root, where every process is visible — alive when that namespace holds a process with that
 *   pid and start time, dead when it does not (or is gone); foreign anywhere else;
 * * same host, boot and namespace: alive exactly when a process with that pid *and* start time exists;
 * * same host, other boot: dead (every process of an earlier boot is gone);
 * * other host: foreign, unless `hostLocal` (the leftover is in a folder only this host uses, such as its
 *   tmpdir) and the boot differs too — then the host was renamed or the folder survived a reinstall: dead.
 * A lease this host cannot read (no /proc, start time unknown) is foreign: never removed on a guess.
 */
export function leaseState(l: Lease, opts: { hostLocal?: boolean } = {}): LeaseState {
  const me = ownLease();
  if (me.boot === UNKNOWN_BOOT || l.boot === UNKNOWN_BOOT || l.start === 0) return 'foreign';
  if (l.boot === me.boot && l.ns !== me.ns) {
    // Only the initial namespace sees every process; from anywhere else a missing holder proves nothing.
    if (l.ns === 0 || me.ns !== INIT_PID_NAMESPACE) return 'foreign';
    const holder = holderInNamespace(l.ns, l.pid, l.start, processStartTime);
    return holder === 'unknown' ? 'foreign' : holder;
  }
  if (l.host !== me.host) return opts.hostLocal && l.boot !== me.boot ? 'dead' : 'foreign';
  if (l.boot !== me.boot) return 'dead';
  return processStartTime(l.pid) === l.start ? 'alive' : 'dead';
}

/** True when `name` carries a lease whose holder is provably gone. */
export function leftBehind(name: string, opts: { hostLocal?: boolean } = {}): boolean {
  const l = findLease(name);
  return l !== null && leaseState(l, opts) === 'dead';
}

/**
 * Removes every entry of `dir` whose name carries a dead lease (files and whole folders; symlinks themselves,
 * never what they point to). A missing or unreadable folder is nothing to sweep.
 * @returns the paths removed.
 */
export async function sweepFolder(dir: string, opts: { hostLocal?: boolean } = {}): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!leftBehind(name, opts)) continue;
    const path = join(dir, name);
    // rm does not follow a symlink named by `path`; a folder is removed with what is inside it.
    await rm(path, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
    removed.push(path);
  }
  return removed;
}
