/**
 * Turns a verdict (and measured throughput, when this host was measured) into advice: the missing flags, the
 * setting that shows them on each hypervisor, and a compressor setting. How to apply each setting is prose in
 * docs/doctor.md ("Fixes"); no figure here is an estimate.
 */
import type { CpuFacts } from './facts.js';
import { FLAGS, flagLabel } from './flags.js';
import { type Suggestion, settingName, suggest, type Throughput } from './suggest.js';
import type { CpuVerdict } from './verdict.js';

/** A hypervisor's setting that passes the host CPU through; `how` points at its steps in docs/doctor.md. */
export interface HypervisorFix {
  platform: string;
  how: string;
  setting: string;
}

export interface Advice {
  severity: 'warning' | 'info';
  topic: 'cpu-model' | 'emulation' | 'missing-flags' | 'compressor';
  message: string;
  missingFlags?: { flag: string; label: string; use: string }[];
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

// [platform, the setting, words of the hypervisor vendor that put this fix first]
const FIXES: readonly [string, string, readonly string[]][] = [
  ['libvirt', "<cpu mode='host-passthrough' check='none'/>", ['kvm', 'qemu']],
  ['QEMU command line', '-accel kvm -cpu host', ['kvm', 'qemu']],
  ['Proxmox VE', 'qm set VMID --cpu host', ['kvm', 'qemu']],
  ['OpenStack Nova', '[libvirt] cpu_mode = host-passthrough', ['kvm', 'qemu']],
  [
    'VMware vSphere / ESXi',
    'EVC mode: disabled or the newest baseline; VM compatibility: latest',
    ['vmware'],
  ],
  ['Microsoft Hyper-V', 'Set-VMProcessor -VMName NAME -CompatibilityForMigrationEnabled $false', ['hyper-v']],
  ['VirtualBox', 'VBoxManage modifyvm NAME --cpu-profile host', ['virtualbox']],
  ['Xen', 'cpuid= (remove from the xl domain config)', ['xen']],
  ['Cloud instances and CI runners', 'instance type of a current CPU generation', []],
];

/** Fixes for a hypervisor vendor, the most relevant first; every fix when the vendor is unknown. */
export function fixesFor(vendor: string | undefined): HypervisorFix[] {
  const v = (vendor ?? '').toLowerCase();
  const all = FIXES.map(([platform, setting, vendors]) => ({
    fix: { platform, how: `docs/doctor.md, "Fixes": ${platform}`, setting },
    first: vendors.some((w) => v.includes(w)),
  }));
  return [...all.filter((f) => f.first), ...all.filter((f) => !f.first)].map((f) => f.fix);
}

function missingFlags(verdict: CpuVerdict): NonNullable<Advice['missingFlags']> {
  return verdict.missing.map((name) => {
    const f = FLAGS.find((x) => x.name === name);
    return { flag: name, label: f?.label ?? name, use: f?.use ?? '' };
  });
}

/** Advice on the CPU itself: emulation, a generic or named model, hidden or absent flags. */
function cpuAdvice({ facts, verdict }: AdviceInput): Advice[] {
  const out: Advice[] = [];
  const missing = missingFlags(verdict);
  const labels = missing.map((f) => f.label).join(', ');
  const fixes = fixesFor(facts.hypervisor.vendor);
  if (verdict.status === 'emulated')
    out.push({
      severity: 'warning',
      topic: 'emulation',
      message:
        'The CPU is emulated (QEMU TCG): every instruction is translated, so compression runs many times slower than under hardware virtualisation. Enable KVM for the build VM (nested virtualisation on its host, /dev/kvm inside), then pass the host CPU through.',
      fixes,
    });
  const hidden = verdict.status === 'generic-model' || verdict.status === 'hidden-flags';
  if (hidden || (verdict.status === 'emulated' && missing.length)) {
    const what =
      verdict.status === 'generic-model'
        ? `The build machine runs a generic virtual CPU (${verdict.genericModel}, "${facts.model}")`
        : `The build machine runs under ${facts.hypervisor.vendor ?? 'a hypervisor'} with CPU flags hidden`;
    out.push({
      severity: 'warning',
      topic: verdict.status === 'generic-model' ? 'cpu-model' : 'missing-flags',
      message: `${what}; missing: ${labels || 'none of the baseline flags, but newer host features are hidden'}. Pass the host CPU through to the guest.`,
      missingFlags: missing,
      fixes,
    });
  }
  if (verdict.status === 'cpu-lacks-flags')
    out.push({
      severity: 'warning',
      topic: 'missing-flags',
      message: `This CPU lacks ${labels}; no setting can add them. Choose a faster compressor level, or build on a newer machine.`,
      missingFlags: missing,
    });
  if (verdict.status === 'good' && verdict.namedModel && facts.hypervisor.present) {
    const absent = verdict.missingExtra.length
      ? ` (absent here: ${verdict.missingExtra.map(flagLabel).join(', ')})`
      : '';
    out.push({
      severity: 'info',
      topic: 'cpu-model',
      message: `"${facts.model}" is a hypervisor's named CPU model: the compressors' flags are there, but newer host features stay hidden${absent}; host-passthrough would show them.`,
      fixes: fixes.slice(0, 2),
    });
  }
  return out;
}

/** Advice for a verdict; empty for a good CPU apart from the compressor suggestion. */
export function advise(input: AdviceInput): Advice[] {
  const out = cpuAdvice(input);
  const s = suggest(input.throughput, input.rootfsBytes, input.budgetSeconds);
  if (s)
    out.push({
      severity: s.fits ? 'info' : 'warning',
      topic: 'compressor',
      message: `Use ${settingName(s)}: about ${s.seconds} s for ${(input.rootfsBytes / 1e6).toFixed(0)} MB, image about ${(s.bytes / 1e6).toFixed(0)} MB (${s.reason}).`,
      suggestion: s,
    });
  return out;
}
