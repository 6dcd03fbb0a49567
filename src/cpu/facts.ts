/** What the doctor knows about a CPU, from CPUID on this host or from a /proc/cpuinfo file. */
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
