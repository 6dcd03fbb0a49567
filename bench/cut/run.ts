/**
 * Cut benchmark: QCOW2 bundles (the original's default 19G control-plane layout, our osconfig qcow run
 * included) cut from one built image three ways, alternated in one run, median of N:
 *
 * - `ours-zlib` / `ours-zstd` — `cutImage` from an empty cache (one export for all bundles, started while the
 *   osconfig containers run, one after the other; filesystems in place; native writer; in a new folder where
 *   CUT_DIR=auto works);
 * - `ours-zstd-warm` — a re-cut: the same with the cut cache an earlier cut filled (tree and osconfig layers
 *   reused), primed once before the runs;
 * - `original` — the original tool's steps (bench/cut/original.ts: chroot osconfig, loop disk, parted, mkfs,
 *   `cp -a`, grub-install, single-stream `qemu-img convert -c`), one bundle after the other as its Makefile
 *   (with `--one-bundle-only original`, only for one bundle: n bundles are then n × that, as the Makefile runs
 *   them; the same flag keeps any other case to one bundle);
 * - and, on the first bundle our zlib case wrote (read back to a raw disk), `qemu-img convert -c -m 8 -W` as
 *   the compression floor.
 *
 * Each case runs in a fresh process, after a `sync`; results (per-step seconds, sizes, ratios, the load average) go to
 * bench/cut/results/cut.{json,md}. Needs root (loop devices, mount, chroot) for the original's path.
 *
 * usage: node dist/bench/cut/run.js [IMAGE_REF] [--reps N] [--bundles 1,2,4] [--one-bundle-only CASE,…]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cutImage } from '../../src/api.js';
import { inspectImage } from '../../src/engine/container-io.js';
import { cutPlace } from '../../src/stages/cut-place.js';
import { planDisk } from '../../src/stages/qcow-layout.js';
import {
  controlPlaneLayout,
  cutTestConfig,
  DEV_IMAGE,
  dropFixtureFolders,
} from '../../test/integration/cut/fixture-config.js';
import { originalCut } from './original.js';

const GiB = 1024 ** 3;
const MODES = ['ours-zlib', 'original', 'ours-zstd', 'ours-zstd-warm'] as const;
type Mode = (typeof MODES)[number];

interface CaseResult {
  seconds: number;
  bytes: number;
  /** Seconds per step, summed over bundles (ours: from progress events; bundles overlap in two lanes). */
  steps: Record<string, number>;
  floor?: { seconds: number; bytes: number; ours: number };
}

function config(
  imageRef: string,
  work: string,
  n: number,
  mode: Mode,
  cacheDir = join(work, 'cache'),
  cutDir = cacheDir,
) {
  const settings = {
    imageType: 'qcow' as const,
    outDir: join(work, 'out'),
    cacheDir,
    cutDir,
    bootTimeout: 0,
  };
  const bundles = Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`bundle-${i + 1}`, controlPlaneLayout(19 * GiB)]),
  );
  const c = cutTestConfig({ imageRef, settings, bundles });
  for (const [i, b] of c.qcowBundles.entries()) {
    // Bundles differ as real ones do: each has its own osconfig run (and cached layer).
    b.osconfig.banners.motd = `bench bundle ${i + 1}\n`;
    b.qcow.capacity_bytes = 19 * GiB;
    b.qcow.qcow_capacity = '19G';
    b.qcow.qcow_compression_type = mode.startsWith('ours-zstd') ? 'zstd' : 'zlib';
  }
  return { settings, config: c };
}

/**
 * Step seconds from progress events: each (stage, message) runs until the stage's next message; a step of the
 * runner without messages (`extract`) from its start to its end.
 */
function stepTimer() {
  const steps: Record<string, number> = {};
  const open = new Map<string, { message: string; t: number }>();
  // CUT_BENCH_TRACE=1: every event but byte counts, with its time since the first, on stderr.
  const trace = process.env.CUT_BENCH_TRACE ? Date.now() : undefined;
  const close = (stage: string, t: number) => {
    const o = open.get(stage);
    if (o) steps[o.message] = (steps[o.message] ?? 0) + (t - o.t) / 1000;
    open.delete(stage);
  };
  return {
    steps,
    on(e: { stage: string; kind: string; message?: string }) {
      const t = Date.now();
      if (trace !== undefined && !(e.kind === 'progress' && 'done' in e))
        process.stderr.write(`${((t - trace) / 1000).toFixed(2)} ${e.stage} ${e.kind} ${e.message ?? ''}\n`);
      if (e.kind === 'done' || e.kind === 'failed') return close(e.stage, t);
      if (e.kind === 'reused') steps[`${e.stage} (reused)`] = 0;
      if (e.kind === 'start' && !e.stage.startsWith('qcow:')) open.set(e.stage, { message: e.stage, t });
      if (e.kind !== 'progress' || !e.message || open.get(e.stage)?.message === e.message) return;
      close(e.stage, t);
      open.set(e.stage, { message: e.message, t });
    },
  };
}

async function runOurs(
  imageRef: string,
  work: string,
  n: number,
  mode: Mode,
  cacheDir: string,
  cutDir: string,
): Promise<CaseResult> {
  const { settings, config: c } = config(imageRef, work, n, mode, cacheDir, cutDir);
  const timer = stepTimer();
  const t = Date.now();
  const out = await cutImage({ settings, config: c, onProgress: (e) => timer.on(e) });
  const seconds = (Date.now() - t) / 1000;
  const bytes = out.reduce((s, a) => s + statSync(a.file).size, 0);
  const r: CaseResult = { seconds, bytes, steps: timer.steps };
  const first = out[0];
  if (mode === 'ours-zlib' && first) {
    const raw = join(work, 'floor.raw');
    const floor = join(work, 'floor.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-O', 'raw', first.file, raw]);
    const t0 = Date.now();
    execFileSync('qemu-img', [
      'convert',
      '-q',
      '-f',
      'raw',
      '-O',
      'qcow2',
      '-c',
      '-m',
      '8',
      '-W',
      raw,
      floor,
    ]);
    r.floor = {
      seconds: (Date.now() - t0) / 1000,
      bytes: statSync(floor).size,
      ours: statSync(first.file).size,
    };
  }
  return r;
}

function runOriginal(imageRef: string, work: string, n: number): CaseResult {
  const { config: c } = config(imageRef, work, n, 'original');
  const steps: Record<string, number> = {};
  let bytes = 0;
  const t = Date.now();
  for (const b of c.qcowBundles) {
    const plan = planDisk(b.qcow, imageRef, 'bench').plan;
    if (!plan) throw new Error(`no plan for ${b.name}`);
    const scratch = mkdtempSync(join(work, 'orig-'));
    const r = originalCut(imageRef, b, plan, scratch, join(work, `${b.name}.qcow2`));
    for (const [k, v] of Object.entries(r.steps)) steps[k] = (steps[k] ?? 0) + v;
    bytes += r.bytes;
  }
  return { seconds: (Date.now() - t) / 1000, bytes, steps };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * A new empty folder where `CUT_DIR=auto` has a cut of `imageRef` work (in /dev/shm when memory allows, else
 * on disk): each cold case starts from an empty cut cache in the place the product would use.
 */
async function freshCutDir(imageRef: string): Promise<string> {
  const image = await inspectImage(imageRef);
  const disk = mkdtempSync('/var/tmp/cut-bench-cut-');
  const place = await cutPlace('auto', disk, image?.size ?? 0);
  if (!place.memory) return disk;
  rmSync(disk, { recursive: true });
  return mkdtempSync('/dev/shm/cut-bench-cut-');
}

/** One case in this process; `warm`: the cache and cut folders of ours-zstd-warm (and `prime` fills them). */
async function child(
  mode: Mode | 'prime',
  n: number,
  imageRef: string,
  warm: { cache: string; cut: string },
): Promise<void> {
  const work = mkdtempSync('/var/tmp/cut-bench-');
  const cut =
    mode === 'original' || mode === 'prime' || mode === 'ours-zstd-warm' ? '' : await freshCutDir(imageRef);
  try {
    const r =
      mode === 'original'
        ? runOriginal(imageRef, work, n)
        : mode === 'prime' || mode === 'ours-zstd-warm'
          ? await runOurs(imageRef, work, n, 'ours-zstd-warm', warm.cache, warm.cut)
          : await runOurs(imageRef, work, n, mode, join(work, 'cache'), cut);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (cut) rmSync(cut, { recursive: true, force: true });
    dropFixtureFolders();
  }
}

/** The original's seconds for `n` bundles: measured, else n × its one-bundle median (its Makefile runs them in turn). */
function originalSeconds(results: Record<string, CaseResult[]>, n: number): { s: number; derived: boolean } {
  const measured = results[`original/${n}`] ?? [];
  if (measured.length) return { s: median(measured.map((r) => r.seconds)), derived: false };
  return { s: n * median((results['original/1'] ?? []).map((r) => r.seconds)), derived: true };
}

/** Step times come from progress messages: steps that overlap are told apart only by when each began. */
const STEPS_NOTE =
  "Ours' steps run until the bundle's next progress message: the tree copy and the partition table begin while the osconfig runs, and a bundle's filesystems are made side by side, so the last of those to begin shows their common time (e.g. `mkfs /boot` holds the root's).";

function table(results: Record<string, CaseResult[]>, counts: number[]): string {
  const rows: string[] = [];
  for (const n of counts) {
    const orig = originalSeconds(results, n);
    const one = (m: Mode) => median((results[`${m}/1`] ?? []).map((r) => r.seconds));
    for (const m of MODES) {
      const rs = results[`${m}/${n}`] ?? [];
      if (!rs.length) continue;
      const s = median(rs.map((r) => r.seconds));
      const bytes = median(rs.map((r) => r.bytes));
      const steps = Object.keys(rs[0]?.steps ?? {})
        .map((k) => `${k} ${median(rs.map((r) => r.steps[k] ?? 0)).toFixed(1)}`)
        .join('; ');
      // One bundle runs its steps in turn: everything but the compression is the time before it.
      const convert = (r: CaseResult) => r.steps.convert ?? r.steps['convert (qemu-img -c, one stream)'];
      const before = n === 1 ? median(rs.map((r) => r.seconds - (convert(r) ?? r.seconds))).toFixed(1) : '';
      const xo = orig.s > 0 ? `${(s / orig.s).toFixed(2)}${orig.derived ? '*' : ''}` : '';
      rows.push(
        `| ${n} | ${m} | ${rs.length} | ${s.toFixed(1)} | ${before} | ${(bytes / 1024 ** 2).toFixed(0)} | ${xo} | ${(s / one(m)).toFixed(2)} | ${steps} |`,
      );
    }
  }
  return rows.join('\n');
}

interface Run {
  imageRef: string;
  reps: number;
  counts: number[];
  /** Cases run for one bundle only. */
  oneBundleOnly: string[];
  /** The cache and cut folders of ours-zstd-warm. */
  warm: { cache: string; cut: string };
}

function runCase(self: string, mode: Mode | 'prime', n: number, run: Run): CaseResult {
  const r = spawnSync(
    process.execPath,
    [self, 'case', mode, String(n), run.imageRef, run.warm.cache, run.warm.cut],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (r.status !== 0) throw new Error(`case ${mode}/${n} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as CaseResult;
}

/** Writes cut.json and cut.md (after every case, so a stopped run leaves what it measured). */
function report(run: Run, results: Record<string, CaseResult[]>, loads: string[], done: boolean): string {
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), '../../../bench/cut/results');
  mkdirSync(dir, { recursive: true });
  const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const meta = { ...run, cpus: cpus().length, date: new Date().toISOString(), uptime, loads, complete: done };
  writeFileSync(join(dir, 'cut.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`);
  const floors = (results['ours-zlib/1'] ?? []).map((r) => r.floor).filter((f) => f !== undefined);
  const floorLine = floors.length
    ? `Compression floor, first bundle of ours-zlib read back to raw: \`qemu-img convert -c -m 8 -W\` ${median(floors.map((f) => f.seconds)).toFixed(1)} s, ${(median(floors.map((f) => f.bytes)) / 1024 ** 2).toFixed(0)} MiB; ours-zlib/floor size ${median(floors.map((f) => f.ours / f.bytes)).toFixed(3)}×`
    : '';
  const md = [
    `Cut benchmark, ${meta.cpus} CPUs, image ${run.imageRef}, ${meta.date}, median of ${run.reps}, alternated${done ? '' : ' (INCOMPLETE: stopped early)'}`,
    `Machine shared with other jobs: \`${uptime}\`; load average (1 min) before each case: ${loads.join(', ')}`,
    '',
    '| bundles | case | runs | seconds | before compression | output MiB | × original | × one bundle | steps (s, median; ours: summed over bundles) |',
    '|---|---|---|---|---|---|---|---|---|',
    table(results, run.counts),
    '',
    run.oneBundleOnly.includes('original')
      ? "\\* × n × the original's one-bundle median (its Makefile cuts bundles one after the other, each with its own export, osconfig and convert); the original was measured for one bundle."
      : '',
    "ours-zstd-warm: a re-cut, the cut cache holding the tree and the bundles' osconfig layers from an earlier cut (no export, no Ansible).",
    STEPS_NOTE,
    floorLine,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'cut.md'), md);
  return md;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'case')
    return child(args[1] as Mode | 'prime', Number(args[2]), args[3] ?? DEV_IMAGE, {
      cache: args[4] ?? '',
      cut: args[5] ?? '',
    });
  const flag = (name: string, def: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? (args.splice(i, 2)[1] ?? def) : def;
  };
  const reps = Number(flag('--reps', '3'));
  const counts = flag('--bundles', '1,2,4').split(',').map(Number);
  const oneBundleOnly = flag('--one-bundle-only', '').split(',').filter(Boolean);
  const imageRef = args[0] ?? process.env.BENCH_IMAGE ?? DEV_IMAGE;
  const self = fileURLToPath(import.meta.url);
  const run: Run = {
    imageRef,
    reps,
    counts,
    oneBundleOnly,
    warm: { cache: mkdtempSync('/var/tmp/cut-bench-cache-'), cut: await freshCutDir(imageRef) },
  };
  const results: Record<string, CaseResult[]> = {};
  const loads: string[] = [];
  try {
    // Fills the warm cases' cut cache: the tree and every bundle's osconfig layer.
    runCase(self, 'prime', Math.max(...counts), run);
    for (let rep = 0; rep < reps; rep++)
      for (const n of counts)
        for (const m of MODES) {
          if (n > 1 && oneBundleOnly.includes(m)) continue;
          // The previous case's writes (outputs, the original's raw disk) are flushed first, not during this one.
          execFileSync('sync');
          loads.push(`${m}/${n}#${rep + 1} ${loadavg()[0]?.toFixed(1)}`);
          const res = runCase(self, m, n, run);
          results[`${m}/${n}`] = [...(results[`${m}/${n}`] ?? []), res];
          process.stderr.write(`${m} ${n} bundle(s), run ${rep + 1}: ${res.seconds.toFixed(1)} s\n`);
          report(run, results, loads, false);
        }
    process.stdout.write(report(run, results, loads, true));
  } finally {
    rmSync(run.warm.cache, { recursive: true, force: true });
    rmSync(run.warm.cut, { recursive: true, force: true });
  }
}

await main();
