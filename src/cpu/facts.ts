/**
 * What the doctor knows about a CPU, from CPUID on this host or from a /proc/cpuinfo file, and how hypervisors
 * name themselves (leaf 0x40000000 signatures) and their generic and named virtual CPUs.
 */
export interface CpuFacts {
  source: 'cpuid' | 'cpuinfo';
  /** CPUID vendor string, e.g. `GenuineIntel`, `AuthenticAMD`; empty when unknown. */
  vendor: string;
  /** Brand string / `model name`, trimmed. */
  model: string;
  family?: number;
  modelNumber?: number;
  hypervisor: HypervisorFacts;
  /** Present flags among those the doctor knows ({@link FLAGS}), by /proc/cpuinfo name. */
  flags: string[];
  /** Logical CPUs (processors in the file; for CPUID, those this process may use). */
  logicalCpus: number;
}

export interface HypervisorFacts {
  /** CPUID.1:ECX bit 31 (`hypervisor` in /proc/cpuinfo). */
  present: boolean;
  /** Signature of leaf 0x40000000, e.g. `KVMKVMKVM`; absent when unknown (always, from a file). */
  signature?: string;
  /** Friendly vendor name, e.g. `KVM`, `Microsoft Hyper-V`, `VMware`; `unknown` when present but not named. */
  vendor?: string;
}

const SIGNATURES: readonly [string, string][] = [
  ['KVMKVMKVM', 'KVM'],
  ['Microsoft Hv', 'Microsoft Hyper-V'],
  ['VMwareVMware', 'VMware'],
  ['XenVMMXenVMM', 'Xen'],
  ['VBoxVBoxVBox', 'VirtualBox'],
  ['TCGTCGTCGTCG', 'QEMU (TCG)'],
  ['bhyve bhyve', 'bhyve'],
  [' lrpepyh  vr', 'Parallels'],
  ['prl hyperv', 'Parallels'],
  ['ACRNACRNACRN', 'ACRN'],
  ['QNXQVMBSQG', 'QNX'],
  ['EVMMEVMMEVMM', 'Intel EVMM'],
  ['Jailhouse', 'Jailhouse'],
];

/** Friendly name of a leaf-0x40000000 signature; the signature itself when not known. */
export function hypervisorVendor(signature: string): string {
  const s = signature.replace(/\0+$/, '').trim();
  for (const [sig, name] of SIGNATURES) if (s === sig.trim() || s.startsWith(sig.trim())) return name;
  return s === '' ? 'unknown' : s;
}

/** A virtual CPU model that exposes only a minimal, decades-old flag set whatever the host has. */
export interface GenericModel {
  /** The model as its hypervisor names it on the command line, e.g. `qemu64`. */
  id: string;
  /** True when the guest's instructions are emulated (TCG), not run by the CPU. */
  emulated: boolean;
}

const GENERIC: readonly [RegExp, GenericModel][] = [
  [/^QEMU Virtual CPU/i, { id: 'qemu64', emulated: false }],
  [/^Common KVM processor/i, { id: 'kvm64', emulated: false }],
  [/^Common 32-bit KVM processor/i, { id: 'kvm32', emulated: false }],
  // `-cpu max` under TCG: every flag QEMU can emulate, but each instruction is translated in software.
  [/^QEMU TCG CPU/i, { id: 'max (TCG)', emulated: true }],
];

/** The generic model a `model name` belongs to, if any. */
export function genericModel(model: string): GenericModel | undefined {
  const m = model.trim();
  for (const [re, g] of GENERIC) if (re.test(m)) return g;
  return undefined;
}

/**
 * QEMU's named models (`-cpu Haswell`, `-cpu EPYC`, …) carry one generation's flags: fine when that generation
 * has the flags, but newer host features stay hidden.
 */
export function qemuNamedModel(model: string): boolean {
  return /\((Nehalem|Westmere|Sandy Bridge|Ivy Bridge|Haswell|Broadwell|Skylake|Cascadelake|Cooperlake|Icelake|Sapphire ?Rapids|Penryn|Conroe|Gen \d Class Opteron)|Class Core|^AMD EPYC(-\w+)? Processor|^Hygon Dhyana Processor|^Intel (Core|Xeon) Processor \(/i.test(
    model.trim(),
  );
}

/** A hypervisor guessed from a model name alone (a /proc/cpuinfo file does not carry leaf 0x40000000). */
export function hypervisorFromModel(model: string): string | undefined {
  const g = genericModel(model);
  if (g?.emulated) return 'QEMU (TCG)';
  if (g || qemuNamedModel(model)) return 'QEMU/KVM';
  return undefined;
}
