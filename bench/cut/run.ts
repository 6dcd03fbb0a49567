/**
 * Cut benchmark: time to cut the ISO, and one QCOW (the original's default 19G layout) three ways on the
 * same image — ours (the native qcow2 writer), the original's output path (same filesystems, then a
 * single-stream `qemu-img convert -c`), and ours with qcow2 zstd compression. Each case runs in a fresh
 * process (`node run.js case NAME`); results go to bench/cut/results/cut.{json,md} with the load average.
 *
 * usage: node dist/bench/cut/run.js [IMAGE_REF]   (default: $BENCH_IMAGE or the development image)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cutImage } from '../../src/api.js';
import { controlPlaneLayout, cutTestConfig, DEV_IMAGE } from '../../test/integration/cut/fixture-config.js';

const GiB = 1024 ** 3;
const CASES = ['iso', 'qcow-ours', 'qcow-original-path', 'qcow-ours-zstd'] as const;
type Case = (typeof CASES)[number];

async function runCase(name: Case, imageRef: string, work: string): Promise<{ ms: number; bytes: number }> {
  const settings = {
    imageType: name === 'iso' ? ('iso' as const) : ('qcow' as const),
    outDir: join(work, 'out'),
    cacheDir: join(work, 'cache'),
    bootTimeout: 0,
  };
  const config = cutTestConfig({
    imageRef,
    settings,
    bundles: { 'control-plane': controlPlaneLayout(19 * GiB) },
  });
  for (const b of config.qcowBundles) {
    b.qcow.capacity_bytes = 19 * GiB;
    b.qcow.qcow_capacity = '19G';
    if (name === 'qcow-ours-zstd') b.qcow.qcow_compression_type = 'zstd';
    if (name === 'qcow-original-path') b.qcow.qcow_writer = 'qemu-img';
  }
  const t = Date.now();
  const [a] = await cutImage({ settings, config, parallelConvert: name !== 'qcow-original-path' });
  const ms = Date.now() - t;
  return { ms, bytes: a ? statSync(a.file).size : 0 };
}

async function main(): Promise<void> {
  const [mode, caseName, imageArg] = process.argv.slice(2);
  if (mode === 'case') {
    const work = mkdtempSync('/var/tmp/cut-bench-');
    try {
      const r = await runCase(caseName as Case, imageArg ?? DEV_IMAGE, work);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  const imageRef = mode ?? process.env.BENCH_IMAGE ?? DEV_IMAGE;
  const self = fileURLToPath(import.meta.url);
  const results: Record<string, { ms: number; bytes: number; load1: number }> = {};
  for (const c of CASES) {
    const load1 = loadavg()[0] ?? 0;
    const r = spawnSync(process.execPath, [self, 'case', c, imageRef], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`case ${c} failed (exit ${r.status})`);
    results[c] = {
      ...(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { ms: number; bytes: number }),
      load1,
    };
    process.stderr.write(`${c}: ${(results[c].ms / 1000).toFixed(1)} s\n`);
  }
  const dir = join(fileURLToPath(new URL('.', import.meta.url)), '../../../bench/cut/results');
  mkdirSync(dir, { recursive: true });
  const meta = { imageRef, cpus: cpus().length, date: new Date().toISOString() };
  writeFileSync(join(dir, 'cut.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`);
  const base = results['qcow-original-path']?.ms ?? 1;
  const rows = CASES.map((c) => {
    const r = results[c] as { ms: number; bytes: number; load1: number };
    const ratio = c.startsWith('qcow') ? `${(base / r.ms).toFixed(2)}×` : '–';
    return `| ${c} | ${(r.ms / 1000).toFixed(1)} | ${(r.bytes / 1024 ** 2).toFixed(0)} | ${ratio} | ${r.load1.toFixed(1)} |`;
  });
  const md = [
    `Cut benchmark, ${meta.cpus} CPUs, image ${imageRef}, ${meta.date}`,
    '',
    '| case | seconds | output MiB | speed-up vs original path | load avg (1 min) at start |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'cut.md'), md);
  process.stdout.write(md);
}

await main();
