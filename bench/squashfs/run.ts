/**
 * SquashFS benchmark: ours vs mksquashfs vs gensquashfs on one tree, equal compressor, level, block size and
 * 2 processors; each case in a fresh process under /usr/bin/time, peers alternated, median of N runs. Also the
 * incremental case (one file changed, --cache) and the compress-only CPU floor. Writes JSON and markdown to
 * bench/results/.
 *
 * Usage: node dist/bench/squashfs/run.js TREE [reps] [comps, e.g. lz4,zstd,xz,gzip]; TREE as made by
 * bench/squashfs/make-tree.sh (a built image's root without /livecd).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const FLOOR = join(ROOT, 'dist/bench/squashfs/floor.js');
const [tree, repsArg, compsArg] = process.argv.slice(2);
if (!tree) throw new Error('usage: run.js TREE [reps] [comps]');
const reps = Number(repsArg ?? 3);
type Comp = 'lz4' | 'zstd' | 'xz' | 'gzip';
const comps = (compsArg ?? 'lz4,zstd,xz,gzip').split(',') as Comp[];
const LEVEL: Record<Comp, number | undefined> = { lz4: undefined, zstd: 15, xz: undefined, gzip: 9 };
/** Every tool writes 128 KiB blocks on two workers. */
const BLOCK = '131072';
const JOBS = '2';

/** A tool's option for the level every tool uses, when the compressor takes one. */
const levelArgs = (c: Comp, flag: string, value: (level: number) => string): string[] => {
  const level = LEVEL[c];
  return level === undefined ? [] : [flag, value(level)];
};
const work = mkdtempSync(join(tmpdir(), 'sqfs-bench-'));
const out = join(work, 'out.sqfs');
const cache = join(work, 'cache');
// BENCH_CACHE_COLD=1: the timed cold zstd builds also fill the cache (saves one cold build; slightly slower cold).
const coldFillsCache = process.env.BENCH_CACHE_COLD === '1';

interface Run {
  wall: number;
  rssMiB: number;
  bytes: number;
}

// Node reads NODE_EXTRA_CA_CERTS at start-up, before any of our code runs; where it names a whole CA bundle
// (as on this machine) every node start parses ~140 certificates, ~90 ms. `squash` opens no TLS connection,
// so the runs leave it out: the figure is the tool's, not the machine's proxy set-up. The peers never read it.
const { NODE_EXTRA_CA_CERTS: _caCerts, ...benchEnv } = process.env;

function timed(cmd: string, args: string[]): Run {
  rmSync(out, { force: true });
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: benchEnv,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [wall, rss] = last.split(' ').map(Number);
  return { wall: wall as number, rssMiB: Math.round((rss as number) / 1024), bytes: statSync(out).size };
}

const tools = {
  ours: (c: Comp, extra: string[] = []) =>
    timed(process.execPath, [
      CLI,
      'squash',
      tree,
      out,
      ...['--comp', c, '--processors', JOBS, '--block-size', BLOCK],
      ...levelArgs(c, '--level', String),
      ...extra,
    ]),
  mksquashfs: (c: Comp) =>
    timed('mksquashfs', [
      tree,
      out,
      '-noappend',
      '-quiet',
      '-no-progress',
      '-comp',
      c,
      ...['-b', BLOCK, '-processors', JOBS],
      ...levelArgs(c, '-Xcompression-level', String),
    ]),
  gensquashfs: (c: Comp) =>
    timed('gensquashfs', [
      '--pack-dir',
      tree,
      '-c',
      c,
      ...['-b', BLOCK, '-j', JOBS, '-f', '-q'],
      ...levelArgs(c, '-X', (l) => `level=${l}`),
      out,
    ]),
};
type Tool = keyof typeof tools;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const results: Record<
  string,
  Record<Tool, { wall: number; rssMiB: number; bytes: number; runs: number[] }>
> = {};
// BENCH_TOOLS narrows the peers when time is short (e.g. zstd 15 on a loaded machine).
const order = (process.env.BENCH_TOOLS ?? 'ours,mksquashfs,gensquashfs').split(',') as Tool[];
const load = { before: loadavg(), uptime: execFileSync('uptime').toString().trim() };
for (const c of comps) {
  const runs: Record<Tool, Run[]> = { ours: [], mksquashfs: [], gensquashfs: [] };
  for (let i = 0; i < reps; i++) {
    // Rotate who goes first so cache warmth and load drift do not favour one tool.
    const rot = [...order.slice(i % order.length), ...order.slice(0, i % order.length)];
    for (const t of rot) {
      const r =
        t === 'ours' && c === 'zstd' && coldFillsCache ? tools.ours(c, ['--cache', cache]) : tools[t](c);
      runs[t].push(r);
      process.stderr.write(`${c} ${t} ${r.wall}s ${r.rssMiB}MiB ${r.bytes}B\n`);
    }
  }
  results[c] = Object.fromEntries(
    order.map((t) => [
      t,
      {
        wall: median(runs[t].map((r) => r.wall)),
        rssMiB: median(runs[t].map((r) => r.rssMiB)),
        bytes: runs[t][0]?.bytes ?? 0,
        runs: runs[t].map((r) => r.wall),
      },
    ]),
  ) as (typeof results)[string];
}

// Incremental: warm the cache, change one file's contents (same size), rebuild with the cache; restore.
let incremental: { cold: number; warm: number; ratio: number; changed: string } | undefined;
if (comps.includes('zstd')) {
  const changed = findFile(tree);
  const original = readFileSync(changed);
  try {
    if (!coldFillsCache) tools.ours('zstd', ['--cache', cache]);
    const mutated = Buffer.from(original);
    mutated[0] = (mutated[0] as number) ^ 0xff;
    writeFileSync(changed, mutated);
    const warm = median(Array.from({ length: reps }, () => tools.ours('zstd', ['--cache', cache]).wall));
    const cold = results.zstd?.ours.wall ?? Number.NaN;
    incremental = { cold, warm, ratio: warm / cold, changed };
  } finally {
    writeFileSync(changed, original);
  }
}

function findFile(dir: string): string {
  const out = execFileSync('find', [dir, '-type', 'f', '-size', '+200k', '-size', '-2M', '-print', '-quit'])
    .toString()
    .trim();
  if (!out) throw new Error(`no file of 200 KiB-2 MiB under ${dir}`);
  return out;
}

const floor: Record<string, number> = {};
for (const c of comps) {
  const r = spawnSync(process.execPath, [FLOOR, tree, c, ...(LEVEL[c] ? [String(LEVEL[c])] : [])], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`floor failed: ${r.stderr}`);
  floor[c] = (JSON.parse(r.stdout) as { cpuSeconds: number }).cpuSeconds;
}

const report = {
  tree,
  reps,
  load: { ...load, after: loadavg() },
  results,
  incremental,
  floorCpuSeconds: floor,
};
const dir = join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const name = `squashfs-${comps.join('-')}`;
writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
const rows = comps.map((c) => {
  const r = results[c] as (typeof results)[string];
  const f = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(2));
  return `| ${c}${LEVEL[c] ? ` ${LEVEL[c]}` : ''} | ${f(r.ours.wall)} | ${f(r.mksquashfs.wall)} | ${f(r.gensquashfs?.wall)} | ${f(r.ours.wall / r.mksquashfs.wall)} | ${(r.ours.bytes / r.mksquashfs.bytes).toFixed(3)} | ${r.gensquashfs ? (r.ours.bytes / r.gensquashfs.bytes).toFixed(3) : '-'} | ${r.ours.rssMiB} / ${r.mksquashfs.rssMiB} / ${r.gensquashfs?.rssMiB ?? '-'} | ${f((floor[c] ?? 0) / 2)} |`;
});
const md = [
  `# SquashFS benchmark`,
  '',
  `Tree: \`${tree}\`; 128 KiB blocks, 2 processors, median of ${reps}; load: \`${load.uptime}\`.`,
  '',
  '| comp | ours s | mksquashfs s | gensquashfs s | wall ours/mksq | size ours/mksq | size ours/gensq | peak RSS MiB ours/mksq/gensq | floor s (CPU/2) |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  incremental
    ? `Incremental (zstd 15, --cache, one file changed): ${incremental.warm.toFixed(2)} s vs cold ${incremental.cold.toFixed(2)} s = ${incremental.ratio.toFixed(3)}x`
    : '',
  '',
];
writeFileSync(join(dir, `${name}.md`), md.join('\n'));
process.stdout.write(md.join('\n'));
rmSync(work, { recursive: true, force: true });
