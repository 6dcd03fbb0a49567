/** Judges a CPU: are the compressors' flags there, and if not, can the hypervisor be told to show them? */
import { type CpuFacts, genericModel, qemuNamedModel } from './facts.js';
import { FLAGS, flagLabel, x86Level } from './flags.js';

export type VerdictStatus =
  /** Every baseline flag is there. */
  | 'good'
  /** A generic virtual CPU model (qemu64, kvm64): the host's flags are hidden. */
  | 'generic-model'
  /** Instructions are emulated (QEMU TCG): slow whatever the flags. */
  | 'emulated'
  /** A hypervisor hides some baseline flags (a named model, EVC, a compatibility mode). */
  | 'hidden-flags'
  /** Bare metal lacking baseline flags: an old CPU; nothing to pass through. */
  | 'cpu-lacks-flags';

export interface CpuVerdict {
  status: VerdictStatus;
  /** True when the build will be slower than this CPU could make it, or the CPU is old. */
  warn: boolean;
  /** Baseline flags absent, by /proc/cpuinfo name. */
  missing: string[];
  /** Optional flags absent (AVX-512, SHA, …): reported, never a reason to warn. */
  missingExtra: string[];
  /** x86-64 micro-architecture level the flags reach (1–4). */
  level: 1 | 2 | 3 | 4;
  /** The generic model recognised from the model name, e.g. `qemu64`. */
  genericModel?: string;
  /** QEMU named model (e.g. `-cpu Haswell`): one generation's flags, newer host features hidden. */
  namedModel: boolean;
  /** One line for humans. */
  summary: string;
}

function labels(names: readonly string[]): string {
  return names.map(flagLabel).join(', ');
}

/** The verdict on a CPU's facts. Pure: no measurement, no I/O. */
export function judge(facts: CpuFacts): CpuVerdict {
  const has = new Set(facts.flags);
  const missing = FLAGS.filter((f) => f.tier === 'baseline' && !has.has(f.name)).map((f) => f.name);
  const missingExtra = FLAGS.filter((f) => f.tier === 'extra' && !has.has(f.name)).map((f) => f.name);
  const level = x86Level((f) => has.has(f));
  const generic = genericModel(facts.model);
  const namedModel = qemuNamedModel(facts.model);
  const base = { missing, missingExtra, level, namedModel, ...(generic ? { genericModel: generic.id } : {}) };
  const name = facts.model || 'this CPU';
  const lacking = missing.length ? `; missing ${labels(missing)}` : '';
  const [status, summary] = ((): [VerdictStatus, string] => {
    if (generic?.emulated || facts.hypervisor.vendor === 'QEMU (TCG)')
      return [
        'emulated',
        `${name} is emulated by QEMU TCG (no hardware virtualisation): compression runs many times slower; enable KVM and use host-passthrough${lacking}`,
      ];
    if (generic)
      return [
        'generic-model',
        `generic virtual CPU model "${name}" (${generic.id}) hides the host's flags${lacking}; use host-passthrough`,
      ];
    if (missing.length && facts.hypervisor.present)
      return [
        'hidden-flags',
        `${name} under ${facts.hypervisor.vendor ?? 'a hypervisor'}${lacking}; the hypervisor's CPU model or compatibility mode likely hides them: use host-passthrough`,
      ];
    if (missing.length)
      return [
        'cpu-lacks-flags',
        `${name} (bare metal)${lacking}: an older CPU; prefer a faster compressor level`,
      ];
    return ['good', `${name}: all flags the compressors use are present (x86-64-v${level})`];
  })();
  return { status, warn: status !== 'good', ...base, summary };
}
