/**
 * A run in another pid namespace with this host's name — a tool container started with the host's network —
 * must not take this host's live runs for dead ones, nor be taken for dead: its pids mean nothing here. The
 * other run is a real process in a new pid namespace (unshare, as root) on the compiled module.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLease, leaseState, leaseTag } from '../../../src/lease.js';
import { ROOT } from '../../helpers/cli.js';

const LEASE = join(ROOT, 'dist/src/lease.js');

/** Runs `script` (ESM, `m` is the lease module) as pid 1 of a new pid namespace; its stdout. */
function inNewPidNamespace(script: string): string {
  const code = `const m = await import(${JSON.stringify(LEASE)}); ${script}`;
  const r = spawnSync(
    'unshare',
    ['--pid', '--fork', '--mount-proc', process.execPath, '--input-type=module', '-e', code],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('leases across pid namespaces on one host', () => {
  it('a run in another pid namespace has its own host part, and each side judges the other foreign', () => {
    const mine = leaseTag();
    const [theirs = '', verdict] = inNewPidNamespace(
      `console.log(m.leaseTag()); console.log(m.leaseState(m.findLease(${JSON.stringify(mine)})));`,
    ).split('\n');
    const a = findLease(mine);
    const b = findLease(theirs);
    expect(b, theirs).not.toBeNull();
    // Same kernel (boot), same host name, another namespace.
    expect(b?.boot).toBe(a?.boot);
    expect(b?.host).not.toBe(a?.host);
    // Inside, our pid is nobody (or someone else): without the namespace in the lease it would say 'dead'.
    expect(verdict).toBe('foreign');
    if (b) expect(leaseState(b)).toBe('foreign');
  });
});
