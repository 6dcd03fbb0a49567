/** Turns a verdict (and measured throughput, when this host was measured) into advice with fixes and costs. */
import { EMULATION_SLOWDOWN, lossFor } from './cost.js';
import type { CpuFacts } from './facts.js';
import { fixesFor, type HypervisorFix } from './fixes.js';
import { FLAGS } from './flags.js';
import { estimates, type Suggestion, settingName, suggest } from './suggest.js';
import type { CompressorName, Throughput } from './throughput-types.js';
import type { CpuVerdict } from './verdict.js';

export interface FlagCostEstimate {
  compressor: CompressorName;
  /** Fraction of throughput lost without the flags, low and high estimate. */
  loss: [number, number];
  why: string[];
  /** Measured here: the setting and its rootfs time. Absent when this host was not measured. */
  measured?: { level: number; seconds: number };
  /** Estimated rootfs time with the flags, from the measurement (low, high). */
  withFlagsSeconds?: [number, number];
}

export interface Advice {
  severity: 'warning' | 'info';
  topic: 'cpu-model' | 'emulation' | 'missing-flags' | 'compressor';
  message: string;
  missingFlags?: { flag: string; label: string; use: string }[];
  costs?: FlagCostEstimate[];
  fixes?: HypervisorFix[];
  suggestion?: Suggestion;
}

export interface AdviceInput {
  facts: CpuFacts;
  verdict: CpuVerdict;
  /** Figures measured on the CPU judged; empty when judging a file from another machine. */
  throughput: readonly Throughput[];
  rootfsBytes: number;
  budgetSeconds?: number;
}

const COMPRESSORS: readonly CompressorName[] = ['zstd', 'gzip', 'xz', 'lz4'];
const r1 = (x: number) => Math.round(x * 10) / 10;

function costs(input: AdviceInput): FlagCostEstimate[] {
  const est = estimates(input.throughput, input.rootfsBytes);
  const out: FlagCostEstimate[] = [];
  for (const c of COMPRESSORS) {
    const { loss, why } = lossFor(c, input.verdict.missing);
    if (loss[1] === 0) continue;
    const e: FlagCostEstimate = { compressor: c, loss, why };
    // The slowest measured level of this compressor shows the cost best; any measured level will do.
    const mine = est.filter((x) => x.compressor === c).sort((a, b) => b.seconds - a.seconds)[0];
    if (mine) {
      e.measured = { level: mine.level, seconds: mine.seconds };
      e.withFlagsSeconds = [r1(mine.seconds * (1 - loss[1])), r1(mine.seconds * (1 - loss[0]))];
    }
    out.push(e);
  }
  return out;
}

/** Advice for a verdict; empty for a good CPU apart from the compressor suggestion. */
export function advise(input: AdviceInput): Advice[] {
  const { facts, verdict } = input;
  const out: Advice[] = [];
  const missingFlags = verdict.missing.map((name) => {
    const f = FLAGS.find((x) => x.name === name);
    return { flag: name, label: f?.label ?? name, use: f?.use ?? '' };
  });
  const fixes = fixesFor(facts.hypervisor.vendor);
  if (verdict.status === 'emulated') {
    out.push({
      severity: 'warning',
      topic: 'emulation',
      message: `The CPU is emulated (QEMU TCG): expect compression ${EMULATION_SLOWDOWN[0]}–${EMULATION_SLOWDOWN[1]}× slower than under hardware virtualisation (estimate). Enable KVM for the build VM (nested virtualisation on its host, /dev/kvm inside), then pass the host CPU through.`,
      fixes,
    });
  }
  if (
    verdict.status === 'generic-model' ||
    verdict.status === 'hidden-flags' ||
    (verdict.status === 'emulated' && missingFlags.length)
  ) {
    const what =
      verdict.status === 'generic-model'
        ? `The build machine runs a generic virtual CPU (${verdict.genericModel}, "${facts.model}")`
        : `The build machine runs under ${facts.hypervisor.vendor ?? 'a hypervisor'} with CPU flags hidden`;
    out.push({
      severity: 'warning',
      topic: verdict.status === 'generic-model' ? 'cpu-model' : 'missing-flags',
      message: `${what}; missing: ${missingFlags.map((f) => f.label).join(', ') || 'none of the baseline flags, but newer host features are hidden'}. Pass the host CPU through to the guest.`,
      missingFlags,
      costs: costs(input),
      fixes,
    });
  }
  if (verdict.status === 'cpu-lacks-flags') {
    out.push({
      severity: 'warning',
      topic: 'missing-flags',
      message: `This CPU lacks ${missingFlags.map((f) => f.label).join(', ')}; no setting can add them. Choose a faster compressor level, or build on a newer machine.`,
      missingFlags,
      costs: costs(input),
    });
  }
  if (verdict.status === 'good' && verdict.namedModel && facts.hypervisor.present) {
    out.push({
      severity: 'info',
      topic: 'cpu-model',
      message: `"${facts.model}" is a hypervisor's named CPU model: the compressors' flags are there, but newer host features stay hidden${verdict.missingExtra.length ? ` (absent here: ${verdict.missingExtra.map((n) => FLAGS.find((f) => f.name === n)?.label ?? n).join(', ')})` : ''}; host-passthrough would show them.`,
      fixes: fixesFor(facts.hypervisor.vendor).slice(0, 2),
    });
  }
  const s = suggest(input.throughput, input.rootfsBytes, input.budgetSeconds);
  if (s) {
    out.push({
      severity: s.fits ? 'info' : 'warning',
      topic: 'compressor',
      message: `Use ${settingName(s)}: about ${s.seconds} s for ${(input.rootfsBytes / 1e6).toFixed(0)} MB, image about ${(s.bytes / 1e6).toFixed(0)} MB (${s.reason}).`,
      suggestion: s,
    });
  }
  return out;
}
