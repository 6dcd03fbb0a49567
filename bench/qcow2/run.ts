/**
 * qcow2 writer benchmark: ours (the native writer, 2 workers) against `qemu-img convert -c` (one stream, as
 * the original tool runs it) and `qemu-img convert -c -m 8 -W` (qemu's parallel floor) on the same sparse raw
 * disk; cases alternated, median of N runs; every output of ours checked once with `qemu-img compare`.
 * Writes JSON and markdown to bench/results/.
 *
 * Each run is a fresh process under /usr/bin/time (wall and CPU seconds).
 *
 * Usage: node dist/bench/qcow2/run.js [RAW_DISK | TREE...] [--reps N]   (BENCH_DISK_LABEL: how RAW_DISK was made)
 *   With no raw disk, one is made: an 8 GiB sparse disk with an ext4 file system at 1 MiB filled by
 *   `mke2fs -d` from a tree of hard links to the given folders (default /usr/bin and /usr/share, a Debian tree).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeQcow2 } from '../../src/qcow2/write.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const args = process.argv.slice(2);
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? Number(args.splice(repsAt, 2)[1]) : 3;
const child = args[0] === '--ours';
const work = child ? '' : mkdtempSync('/var/tmp/qcow2-bench-');
const out = join(work, 'out.qcow2');

interface CaseDef {
  name: string;
  /** Command and arguments that convert `raw` into `out`. */
  argv: (raw: string) => string[];
  ours: boolean;
}

const SELF = fileURLToPath(import.meta.url);
const qemu = (extra: string[]) => (raw: string) => [
  'qemu-img',
  ...['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-c', ...extra, raw, out],
];
const ours = (compression: 'zlib' | 'zstd', level?: number) => (raw: string) => [
  process.execPath,
  SELF,
  '--ours',
  raw,
  out,
  compression,
  String(level ?? 0),
];

const CASES: CaseDef[] = [
  { name: 'ours zlib (libdeflate 2, default)', argv: ours('zlib'), ours: true },
  { name: 'ours zlib (libdeflate 6)', argv: ours('zlib', 6), ours: true },
  { name: 'qemu-img -c', argv: qemu([]), ours: false },
  { name: 'qemu-img -c -m 8 -W', argv: qemu(['-m', '8', '-W']), ours: false },
  { name: 'ours zstd (3)', argv: ours('zstd'), ours: true },
  {
    name: 'qemu-img -c zstd -m 8 -W',
    argv: qemu(['-o', 'compression_type=zstd', '-m', '8', '-W']),
    ours: false,
  },
];

interface Run {
  wall: number;
  /** User + system CPU seconds: on a shared machine the wall time depends on how many threads compete. */
  cpu: number;
}

/** Runs one case in a fresh process under /usr/bin/time. */
function timed(argv: string[]): Run {
  rmSync(out, { force: true });
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  const [wall, user, sys] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { wall: wall as number, cpu: (user as number) + (sys as number) };
}

/** An 8 GiB raw disk with ext4 at 1 MiB, filled from hard-link copies of `folders`. */
function makeDisk(folders: string[]): string {
  const tree = join(work, 'tree');
  mkdirSync(tree);
  for (const f of folders) execFileSync('cp', ['-al', f, join(tree, basename(f))]);
  const raw = join(work, 'disk.raw');
  execFileSync('truncate', ['-s', '8G', raw]);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-E', 'offset=1048576', '-d', tree, raw, '6G']);
  rmSync(tree, { recursive: true });
  return raw;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const given = args[0] && existsSync(args[0]) && statSync(args[0]).isFile() ? args[0] : undefined;
  const raw = given ?? makeDisk(args.length ? args : ['/usr/bin', '/usr/share']);
  const du = Number(execFileSync('du', ['-B1', raw]).toString().split('\t')[0]);
  const load = [loadavg()[0] ?? 0];
  const times = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  const sizes = new Map<string, number>();
  for (let rep = 0; rep < reps; rep++) {
    // Alternated: each round runs every case once, the order rotated so none always follows another.
    const order = CASES.map((_, i) => CASES[(i + rep) % CASES.length] as CaseDef);
    for (const c of order) {
      const r = timed(c.argv(raw));
      const s = r.wall;
      times.get(c.name)?.push(s);
      cpu.get(c.name)?.push(r.cpu);
      sizes.set(c.name, statSync(out).size);
      if (rep === 0 && c.ours)
        execFileSync('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'qcow2', raw, out]);
      process.stderr.write(
        `${rep + 1}/${reps} ${c.name}: ${s.toFixed(2)} s (CPU ${r.cpu.toFixed(2)} s), ${sizes.get(c.name)} bytes\n`,
      );
    }
    load.push(loadavg()[0] ?? 0);
  }
  const ref = 'qemu-img -c';
  const floor = 'qemu-img -c -m 8 -W';
  const results = CASES.map((c) => {
    const s = median(times.get(c.name) as number[]);
    const bytes = sizes.get(c.name) as number;
    return {
      case: c.name,
      seconds: s,
      cpuSeconds: median(cpu.get(c.name) as number[]),
      runs: times.get(c.name),
      bytes,
      timeVsSingleStream: s / median(times.get(ref) as number[]),
      timeVsParallel: s / median(times.get(floor) as number[]),
      sizeVsSingleStream: bytes / (sizes.get(ref) as number),
    };
  });
  const meta = {
    raw:
      given && process.env.BENCH_DISK_LABEL
        ? `${given} (${process.env.BENCH_DISK_LABEL})`
        : (given ??
          `8 GiB, ext4 at 1 MiB from ${(args.length ? args : ['/usr/bin', '/usr/share']).join(' + ')}`),
    rawBytes: statSync(raw).size,
    rawAllocatedBytes: du,
    reps,
    cpus: cpus().length,
    loadAverage1: load,
    date: new Date().toISOString(),
  };
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'qcow2.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`);
  const MB = 1e6;
  const md = [
    '# qcow2 writer benchmark',
    '',
    `Disk: ${meta.raw}, ${(du / MB).toFixed(0)} MB allocated; median of ${reps}, cases alternated; ${meta.cpus} CPUs,`,
    `1-minute load average ${load.map((l) => l.toFixed(1)).join(' → ')} (a shared machine: read ratios).`,
    'CPU s: user + system seconds of the whole process. On a loaded machine time is shared out per runnable',
    'thread, and `qemu-img -m 8 -W` keeps up to 8 compression threads busy against our 2 workers: compare CPU.',
    '',
    '| case | wall s | CPU s | MB | wall / `qemu-img -c` | wall / `-m 8 -W` | size / `qemu-img -c` |',
    '|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.case} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${(r.bytes / MB).toFixed(1)} | ${r.timeVsSingleStream.toFixed(2)} | ${r.timeVsParallel.toFixed(2)} | ${r.sizeVsSingleStream.toFixed(3)} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'qcow2.md'), md);
  process.stdout.write(md);
}

/** One run of ours, in its own process (`--ours RAW OUT zlib|zstd LEVEL`). */
async function oursOnce(): Promise<void> {
  const [raw, file, compression, level] = args.slice(1);
  await writeQcow2(raw as string, file as string, {
    compression: compression as 'zlib' | 'zstd',
    processors: 2,
    ...(Number(level) ? { level: Number(level) } : {}),
  });
}

(child ? oursOnce() : main())
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });
