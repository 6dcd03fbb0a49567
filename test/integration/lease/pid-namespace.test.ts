/**
 * A run in another pid namespace — a tool container, even one started with the host's network and name — is
 * judged by its own namespace: from the host (the initial namespace, as root) alive while its process lives
 * and dead once it is gone, so its leftovers are swept; from inside, where the host's processes cannot be
 * seen, the host's runs are foreign and never touched. The other run is a real process in a new pid
 * namespace (unshare) on the compiled module.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { findLease, leaseState, leaseTag, ownLease } from '../../../src/lease.js';
import { INIT_PID_NAMESPACE } from '../../../src/pid-namespace.js';
import { ROOT } from '../../helpers/cli.js';

const LEASE = join(ROOT, 'dist/src/lease.js');

describe('leases across pid namespaces on one host', () => {
  it('a run in another namespace: alive, then dead once gone; it takes ours for foreign', async () => {
    expect(ownLease().ns, 'this test runs in the initial pid namespace').toBe(INIT_PID_NAMESPACE);
    const mine = leaseTag();
    // Prints its lease and its verdict on ours, then waits for its stdin to close.
    const code = `const m = await import(${JSON.stringify(LEASE)});
console.log(m.leaseTag()); console.log(m.leaseState(m.findLease(${JSON.stringify(mine)})));
process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
    const child = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        '--kill-child',
        process.execPath,
        '--input-type=module',
        '-e',
        code,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const theirs = String((await lines.next()).value ?? '');
    const verdict = String((await lines.next()).value ?? '');
    const l = findLease(theirs);
    expect(l, theirs).not.toBeNull();
    if (!l) return;
    // Same kernel and host name, another namespace, where it is an early pid.
    expect([l.boot, l.host]).toEqual([ownLease().boot, ownLease().host]);
    expect(l.ns).not.toBe(ownLease().ns);
    expect(verdict).toBe('foreign');
    expect(leaseState(l)).toBe('alive');
    // Its pid in our namespace means nothing: judged by pid alone it would be someone else's or nobody's.
    expect(leaseState({ ...l, start: l.start + 1 })).toBe('dead');
    child.stdin.end();
    await once(child, 'close');
    expect(leaseState(l)).toBe('dead');
  });
});
