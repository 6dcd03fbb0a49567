/**
 * `image-builder doctor`: the host report (KVM, Docker, tools, CPU flags, compressor throughput) as text or
 * JSON (docs/doctor.schema.json).
 */
import type { Command } from 'commander';
import { type DoctorReport, doctor, UsageError } from '../../api.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

function positive(flag: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`option ${flag}: expected a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

const MARK: Record<string, string> = { ok: 'ok  ', missing: 'MISS', warn: 'WARN', error: 'FAIL' };

/** The report for humans: verdict first, then figures, advice and the environment. */
export function renderDoctor(r: DoctorReport): string {
  const out: string[] = [];
  const c = r.cpu;
  out.push(r.mode === 'file' ? `CPU (from ${r.cpuinfoFile})` : 'CPU (this host)');
  out.push(
    `  model       ${c.model || '(unknown)'}  [${c.vendor || '?'}${c.family !== undefined ? `, family ${c.family} model ${c.modelNumber}` : ''}]`,
  );
  const hv = c.hypervisor;
  out.push(
    `  hypervisor  ${hv.present ? `${hv.vendor ?? 'unknown'}${hv.signature ? ` (signature "${hv.signature}")` : ''}` : 'none (bare metal)'}`,
  );
  out.push(`  level       x86-64-v${c.level}, ${c.logicalCpus} logical CPU(s)`);
  const present = r.flags.filter((f) => f.present).map((f) => f.label);
  const missing = r.flags.filter((f) => !f.present && f.tier === 'baseline').map((f) => f.label);
  const extra = r.flags.filter((f) => !f.present && f.tier === 'extra').map((f) => f.label);
  out.push(`  flags       ${present.join(' ') || '(none of interest)'}`);
  if (missing.length) out.push(`  MISSING     ${missing.join(' ')}`);
  if (extra.length) out.push(`  absent (optional) ${extra.join(' ')}`);
  out.push(`  sources     ${r.crossCheck.sources.join(' + ')}`);
  for (const d of r.crossCheck.disagreements)
    out.push(
      `  DISAGREE    ${d.flag}: CPUID says ${d.cpuid ? 'yes' : 'no'}, /proc/cpuinfo says ${d.cpuinfo ? 'yes' : 'no'}`,
    );
  for (const n of r.crossCheck.notes) out.push(`  note        ${n}`);
  out.push('', `Verdict: ${r.verdict.warn ? 'WARNING' : 'good'} — ${r.verdict.summary}`);

  if (r.throughput.length) {
    out.push('', `Compressor throughput (MB/s of input; load average ${r.load.join(' ')})`);
    out.push('  setting          engine        1 core   all cores  ratio   rootfs time');
    for (const t of r.throughput) {
      const name = `${t.compressor}${t.compressor === 'lz4' ? '' : ` ${t.level}`}`.padEnd(16);
      if (t.status !== 'measured') {
        out.push(`  ${name} ${t.status}: ${t.note ?? ''}`);
        continue;
      }
      const e = r.estimates.find((x) => x.compressor === t.compressor && x.level === t.level);
      out.push(
        `  ${name} ${(t.engine ?? '').padEnd(12)} ${String(t.singleMBps).padStart(7)} ${String(t.allMBps).padStart(8)} (${t.workers})  ${String(t.ratio).padEnd(6)}  ${e ? `${e.seconds} s` : ''}`,
      );
    }
    const from =
      r.rootfs.source === 'option'
        ? 'given'
        : r.rootfs.source === 'last-build'
          ? `last build: ${r.rootfs.path}`
          : 'typical size; give --rootfs-size';
    out.push(`  rootfs: ${(r.rootfs.bytes / 1e6).toFixed(0)} MB (${from})`);
  } else if (r.mode === 'file') {
    out.push(
      '',
      'Throughput: not measured (the CPU is another machine); run `image-builder doctor` there for figures.',
    );
  }

  if (r.advice.length) out.push('', 'Advice');
  for (const a of r.advice) {
    out.push(`  ${a.severity === 'warning' ? '!' : '-'} ${a.message}`);
    for (const f of a.missingFlags ?? []) out.push(`      ${f.label.padEnd(11)} ${f.use}`);
    const fixes = a.fixes ?? [];
    fixes.slice(0, 2).forEach((f) => {
      out.push(`      fix (${f.platform}): ${f.setting}`, `        how: ${f.how}`);
    });
    if (fixes.length > 2)
      out.push(
        `      other platforms: ${fixes
          .slice(2)
          .map((f) => `${f.platform}: ${f.setting}`)
          .join('; ')}`,
      );
  }

  if (r.environment.length) {
    out.push('', 'Environment');
    for (const p of r.environment) {
      out.push(`  ${MARK[p.status] ?? p.status} ${p.title.padEnd(28)} ${p.detail}`);
      if (p.status !== 'ok' && p.fix) out.push(`       fix: ${p.fix}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function registerDoctor(program: Command): void {
  const cmd = program
    .command('doctor')
    .description(
      'Check CPU flags, compressor throughput and the tools the other commands need; advise host-passthrough when flags are hidden. Exits 0 whatever the verdict.',
    )
    .option('--json', 'print the report as JSON (schema: docs/doctor.schema.json)')
    .option('--cpuinfo <FILE>', 'analyse a /proc/cpuinfo captured on another machine (no measurement here)')
    .option('--quick', 'fewer compressor settings and shorter runs')
    .option(
      '--budget <SECONDS>',
      'time you allow the squashfs step; the compressor suggestion fits it (default 60)',
    )
    .option(
      '--rootfs-size <MB>',
      "rootfs size to estimate for (default: the last build's rootfs tar, else a typical 840 MB)",
    );
  addSettingOptions(cmd, 'doctor').action(
    action(async (signal, opts: Record<string, unknown>) => {
      const budgetSeconds = positive('--budget', opts.budget);
      const rootfsMB = positive('--rootfs-size', opts.rootfsSize);
      const json = opts.json === true;
      const report = await doctor({
        settings: settingsFrom(opts),
        signal,
        ...(typeof opts.cpuinfo === 'string' ? { cpuinfoFile: opts.cpuinfo } : {}),
        quick: opts.quick === true,
        ...(budgetSeconds !== undefined ? { budgetSeconds } : {}),
        ...(rootfsMB !== undefined ? { rootfsBytes: rootfsMB * 1e6 } : {}),
        ...(json ? {} : { onProgress: (e) => process.stderr.write(`  … ${e.message ?? ''}\n`) }),
      });
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report));
    }),
  );
}
