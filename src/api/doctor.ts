/**
 * `doctor`: what the CPU offers the compressors, what they achieve here, what to change, and whether the
 * tools the other commands need are in place.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { defaultSettings } from '../config/settings.js';
import { type Advice, advise } from '../cpu/advice.js';
import { CpuinfoParseError, parseCpuinfo } from '../cpu/cpuinfo.js';
import type { CpuFacts } from '../cpu/facts.js';
import { FLAGS } from '../cpu/flags.js';
import type { FlagDisagreement } from '../cpu/host.js';
import {
  type CompressorSetting,
  type Estimate,
  estimates,
  type Throughput,
  TYPICAL_ROOTFS_BYTES,
} from '../cpu/suggest.js';
import { type CpuVerdict, judge } from '../cpu/verdict.js';
import { probeDisk } from '../engine/probe-disk.js';
import { probeDocker } from '../engine/probe-docker.js';
import { probeKvm } from '../engine/probe-kvm.js';
import { probeTools } from '../engine/probe-tools.js';
import type { ProbeResult } from '../engine/probe-types.js';
import { UsageError } from '../errors.js';
import { sweepLeftovers } from '../stages/reaper.js';
import type { CommonOptions } from './common.js';
import { thisHostCpu } from './cpu-verdict.js';
import { measureThroughput } from './doctor-throughput.js';

export type { Advice } from '../cpu/advice.js';
export type { CpuFacts } from '../cpu/facts.js';
export type { Throughput } from '../cpu/suggest.js';
export type { CpuVerdict } from '../cpu/verdict.js';
export type { ProbeResult } from '../engine/probe-types.js';

export interface DoctorOptions extends CommonOptions {
  /** Analyse this /proc/cpuinfo captured elsewhere instead of this host: no CPUID, measurement or tool checks. */
  cpuinfoFile?: string;
  /** Fewer settings, shorter runs (a few seconds in all). */
  quick?: boolean;
  /** Time the user allows the squashfs step; the compressor suggestion fits it (default 60 s). */
  budgetSeconds?: number;
  /** Rootfs size to estimate for; default: a typical 840 MB Debian rootfs. */
  rootfsBytes?: number;
  /** Measure compressor throughput (default true; host mode only). */
  measure?: boolean;
  /** Check Docker, tools, KVM and disk (default true; host mode only). */
  environment?: boolean;
}

/** The doctor's findings; `docs/doctor.schema.json` describes its JSON form. */
export interface DoctorReport {
  schemaVersion: 1;
  generatedAt: string;
  /** `host`: this machine; `file`: a /proc/cpuinfo captured elsewhere. */
  mode: 'host' | 'file';
  cpuinfoFile?: string;
  cpu: CpuFacts & { level: 1 | 2 | 3 | 4 };
  /** Every flag the doctor knows, with presence, so missing ones are explicit. */
  flags: { name: string; label: string; present: boolean; tier: 'baseline' | 'extra'; use: string }[];
  crossCheck: { sources: ('cpuid' | 'cpuinfo')[]; disagreements: FlagDisagreement[]; notes: string[] };
  verdict: CpuVerdict;
  throughput: Throughput[];
  /** Size the estimates are for: given, the newest rootfs tar of a previous build, or a typical size. */
  rootfs: { bytes: number; source: 'option' | 'last-build' | 'typical'; path?: string };
  estimates: Estimate[];
  advice: Advice[];
  environment: ProbeResult[];
  /** 1-, 5- and 15-minute load averages when measuring (other work on the machine lowers the figures). */
  load: number[];
}

const settings = (list: string): CompressorSetting[] =>
  list.split(' ').map((s) => {
    const [compressor, level] = s.split(':');
    return { compressor: compressor as CompressorSetting['compressor'], level: Number(level) };
  });
// Settings the writer accepts (lz4 takes no level).
const FULL = settings('zstd:1 zstd:3 zstd:9 zstd:15 zstd:19 gzip:1 gzip:6 gzip:9 xz:6 lz4:0');
const QUICK = settings('zstd:3 zstd:15 gzip:6 xz:6 lz4:0');

function readCpuinfoFile(path: string): CpuFacts {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--cpuinfo ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return parseCpuinfo(text);
  } catch (err) {
    if (err instanceof CpuinfoParseError) throw new UsageError(`--cpuinfo ${path}: ${err.message}`);
    throw err;
  }
}

/** The newest rootfs tar the build stage left (`<cacheDir>/rootfs/*.tar`), if any. */
function lastRootfs(cacheDir: string): DoctorReport['rootfs'] | undefined {
  const dir = join(cacheDir, 'rootfs');
  try {
    const tars = readdirSync(dir)
      .filter((n) => n.endsWith('.tar'))
      .map((n) => {
        const st = statSync(join(dir, n));
        return { path: join(dir, n), bytes: st.size, mtime: st.mtimeMs };
      })
      .filter((t) => t.bytes > 0)
      .sort((a, b) => b.mtime - a.mtime);
    const t = tars[0];
    return t ? { bytes: t.bytes, source: 'last-build', path: t.path } : undefined;
  } catch {
    return undefined;
  }
}

function validate(o: DoctorOptions): void {
  if (o.budgetSeconds !== undefined && !(Number.isFinite(o.budgetSeconds) && o.budgetSeconds > 0))
    throw new UsageError(`budget must be a positive number of seconds, got ${o.budgetSeconds}`);
  if (o.rootfsBytes !== undefined && !(Number.isFinite(o.rootfsBytes) && o.rootfsBytes > 0))
    throw new UsageError(`rootfs size must be a positive number, got ${o.rootfsBytes}`);
}

/**
 * Runs the doctor. Its verdict is advice: a bad CPU is reported, never thrown.
 * @throws UsageError when options are invalid or the --cpuinfo file cannot be read or parsed.
 */
export async function doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  validate(opts);
  const progress = (message: string) => opts.onProgress?.({ stage: 'doctor', kind: 'info', message });
  const settings = { ...defaultSettings(), ...opts.settings };
  let facts: CpuFacts;
  let crossCheck: DoctorReport['crossCheck'];
  const host = opts.cpuinfoFile === undefined;
  if (!host) {
    facts = readCpuinfoFile(opts.cpuinfoFile as string);
    crossCheck = { sources: ['cpuinfo'], disagreements: [], notes: [] };
  } else {
    const h = thisHostCpu();
    facts = h.facts;
    const sources: ('cpuid' | 'cpuinfo')[] = [];
    if (h.cpuid) sources.push('cpuid');
    if (h.cpuinfo) sources.push('cpuinfo');
    crossCheck = { sources, disagreements: h.disagreements, notes: h.notes };
  }
  const verdict = judge(facts);
  progress(`CPU: ${verdict.summary}`);

  const environment: ProbeResult[] = [];
  if (host && opts.environment !== false) {
    progress('checking Docker, tools, KVM and disk');
    await sweepLeftovers({ folders: [] });
    // KVM first and alone: a hanging KVM guest spins a core, which would spoil the throughput figures.
    environment.push(await probeKvm({ signal: opts.signal, cacheDir: settings.cacheDir || undefined }));
    const [docker, tools] = await Promise.all([probeDocker(), probeTools(opts.signal)]);
    environment.push(docker, ...tools, probeDisk(settings.cacheDir || '.'));
  }

  let throughput: Throughput[] = [];
  let load: number[] = [];
  if (host && opts.measure !== false) {
    load = loadavg().map((x) => Math.round(x * 100) / 100);
    throughput = await measureThroughput({
      settings: opts.quick ? QUICK : FULL,
      durationMs: opts.quick ? 150 : 500,
      sampleBytes: (opts.quick ? 8 : 16) * 1024 * 1024,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onResult: (t) =>
        progress(
          t.status === 'measured'
            ? `${t.compressor} ${t.level}: ${t.singleMBps} MB/s on one core, ${t.allMBps} MB/s on ${t.workers}`
            : `${t.compressor} ${t.level}: ${t.note ?? t.status}`,
        ),
    });
  }

  const rootfs: DoctorReport['rootfs'] =
    opts.rootfsBytes !== undefined
      ? { bytes: opts.rootfsBytes, source: 'option' }
      : (lastRootfs(settings.cacheDir) ?? { bytes: TYPICAL_ROOTFS_BYTES, source: 'typical' });
  const has = new Set(facts.flags);
  return {
    schemaVersion: 1,
    generatedAt: new Date().toISOString(),
    mode: host ? 'host' : 'file',
    ...(host ? {} : { cpuinfoFile: opts.cpuinfoFile as string }),
    cpu: { ...facts, level: verdict.level },
    flags: FLAGS.map((f) => ({
      name: f.name,
      label: f.label,
      present: has.has(f.name),
      tier: f.tier,
      use: f.use,
    })),
    crossCheck,
    verdict,
    throughput,
    rootfs,
    estimates: estimates(throughput, rootfs.bytes),
    advice: advise({
      facts,
      verdict,
      throughput,
      rootfsBytes: rootfs.bytes,
      ...(opts.budgetSeconds !== undefined ? { budgetSeconds: opts.budgetSeconds } : {}),
    }),
    environment,
    load,
  };
}
