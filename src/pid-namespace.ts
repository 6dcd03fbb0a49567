/**
 * Pid namespaces, for judging leases (src/lease.ts): a pid means something only in its own namespace, and only
 * from the initial namespace can every process of the host be seen. A leaf module like lease.ts: it reads
 * /proc and spawns nothing.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The inode of the initial pid namespace: fixed by the kernel (PROC_PID_INIT_INO), the same on every host. */
export const INIT_PID_NAMESPACE = 0xeffffffc;

/** The inode of process `pid`'s pid namespace (`self` for this one), or 0 when /proc does not say. */
export function pidNamespaceOf(pid: number | 'self'): number {
  try {
    const m = /^pid:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/pid`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pid of host process `hostPid` inside its own namespace: the last field of `NSpid`. */
function innermostPid(hostPid: number): number | null {
  try {
    const line = /^NSpid:\s*(.+)$/m.exec(readFileSync(`/proc/${hostPid}/status`, 'latin1'))?.[1];
    const last = line?.trim().split(/\s+/).at(-1);
    return last ? Number(last) : null;
  } catch {
    return null;
  }
}

/**
 * Whether a process with `pid` (as its own namespace numbers it) and `startTime` lives in pid namespace `ns`.
 * Call it only from the initial namespace (the caller knows its own); every process's namespace must be
 * readable (root), else `unknown`. `startOf` reads a host process's start time (lease.ts's processStartTime).
 */
export function holderInNamespace(
  ns: number,
  pid: number,
  startTime: number,
  startOf: (hostPid: number) => number | null,
): 'alive' | 'dead' | 'unknown' {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 'unknown';
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const hostPid = Number(e);
    // pid 1 here is the host's init, in this very (initial) namespace; some hosts refuse to show its links.
    if (hostPid === 1) continue;
    let link: string;
    try {
      link = readlinkSync(`/proc/${hostPid}/ns/pid`);
    } catch (err) {
      // Gone since the listing: nothing to judge. Not allowed to look: cannot prove anything.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return 'unknown';
    }
    if (link !== `pid:[${ns}]`) continue;
    if (innermostPid(hostPid) === pid && startOf(hostPid) === startTime) return 'alive';
  }
  // The namespace is gone, or lives on without this process.
  return 'dead';
}
