/**
 * Leases: a leftover is removed only when its lease is provably dead — same host and boot and no process with
 * that pid and start time, or an earlier boot — never on the pid alone, never another host's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findLease,
  type Lease,
  leasedName,
  leaseState,
  leaseTag,
  ownLease,
  processStartTime,
  sweepFolder,
} from '../../../src/lease.js';
import { newSession } from '../../../src/stages/names.js';

const dir = mkdtempSync(join(tmpdir(), 'lease-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process that has exited: its pid and the start time it had (now nobody's, or someone else's). */
function deadChild(): Lease {
  const r = spawnSync('sh', ['-c', 'echo $$; cut -d" " -f22 /proc/$$/stat'], { encoding: 'utf8' });
  const [pid, start] = r.stdout.trim().split('\n').map(Number);
  return { ...ownLease(), pid: pid ?? 0, start: start ?? 0 };
}

describe('lease', () => {
  it('reads its own start time from field 22 of /proc/self/stat', () => {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const field22 = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    expect(processStartTime(process.pid)).toBe(field22);
    expect(ownLease().start).toBe(field22);
    expect(ownLease().boot).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').slice(0, 8));
  });

  it('round-trips through a name and a label', () => {
    const name = leasedName('.out.sqfs.tmp-', '.x');
    expect(name.startsWith(`.out.sqfs.tmp-${leaseTag()}-`)).toBe(true);
    expect(findLease(name)).toEqual(ownLease());
    expect(findLease('p1234-abcd')).toBeNull();
    // A session label: the lease, after the p<pid>- form earlier versions sweep by.
    const session = newSession();
    expect(session.startsWith(`p${process.pid}-${leaseTag()}-`)).toBe(true);
    expect(findLease(session)).toEqual(ownLease());
    expect(findLease('report-lease-final.txt')).toBeNull();
    // An earlier version's tag, without the namespace, is nobody's: never swept on a misreading.
    expect(findLease('.x.tmp-lease-5bce98f7-1982eeb9-28029-266113-8169ee5f')).toBeNull();
  });

  it.each<[string, (me: Lease) => Lease, { hostLocal?: boolean }, string]>([
    ['this process', (me) => me, {}, 'alive'],
    [
      'a live process (pid 1) with its start time',
      (me) => ({ ...me, pid: 1, start: processStartTime(1) ?? -1 }),
      {},
      'alive',
    ],
    [
      'pid 1 with another start time (a reused pid)',
      (me) => ({ ...me, pid: 1, start: (processStartTime(1) ?? 0) + 1 }),
      {},
      'dead',
    ],
    ['a process that exited', () => deadChild(), {}, 'dead'],
    [
      'this pid and start time of an earlier boot',
      (me) => ({ ...me, boot: me.boot === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa' }),
      {},
      'dead',
    ],
    [
      'another host',
      (me) => ({ ...me, host: me.host === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa', pid: 999999 }),
      {},
      'foreign',
    ],
    [
      'another host, same boot, in a host-local folder',
      (me) => ({ ...me, host: me.host === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa', pid: 999999 }),
      { hostLocal: true },
      'foreign',
    ],
    [
      'another host and boot in a host-local folder',
      (me) => ({
        ...me,
        host: me.host === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa',
        boot: me.boot === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa',
      }),
      { hostLocal: true },
      'dead',
    ],
    ['an unknown start time', (me) => ({ ...me, pid: 999999, start: 0 }), {}, 'foreign'],
    [
      'another pid namespace of an earlier boot',
      (me) => ({ ...me, ns: me.ns + 1, boot: me.boot === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa' }),
      {},
      'dead',
    ],
    ['an unknown pid namespace of this boot', (me) => ({ ...me, ns: 0, pid: 999999 }), {}, 'foreign'],
  ])('%s is %s', (_name, make, opts, state) => {
    expect(leaseState(make(ownLease()), opts)).toBe(state);
  });

  it('sweeps only entries with a dead lease, folders with their content, never a symlink target', () => {
    const dead = deadChild();
    const otherHost = {
      ...ownLease(),
      host: ownLease().host === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa',
      pid: 999999,
    };
    const target = join(dir, 'target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'keep');
    const names = {
      deadFile: `.out.tmp-${leaseTag(dead)}-1`,
      deadDir: `cut-iso-${leaseTag(dead)}-x`,
      deadLink: `.tmp-${leaseTag(dead)}-link`,
      mine: `.out.tmp-${leaseTag()}-2`,
      foreign: `.out.tmp-${leaseTag(otherHost)}-3`,
      plain: 'out.sqfs',
    };
    const root = join(dir, 'sweep');
    mkdirSync(root);
    for (const n of [names.deadFile, names.mine, names.foreign, names.plain])
      writeFileSync(join(root, n), 'x');
    mkdirSync(join(root, names.deadDir, 'sub'), { recursive: true });
    writeFileSync(join(root, names.deadDir, 'sub', 'f'), 'x');
    spawnSync('ln', ['-s', target, join(root, names.deadLink)]);
    return sweepFolder(root).then((removed) => {
      expect(removed.sort()).toEqual(
        [names.deadFile, names.deadDir, names.deadLink].map((n) => join(root, n)).sort(),
      );
      for (const n of [names.mine, names.foreign, names.plain]) expect(existsSync(join(root, n))).toBe(true);
      expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('keep');
    });
  });
});
