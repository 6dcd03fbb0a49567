/** Cross-checks what CPUID says against what the kernel shows in /proc/cpuinfo. */
import type { CpuFacts } from './facts.js';
import { FLAGS } from './flags.js';

export interface FlagDisagreement {
  flag: string;
  cpuid: boolean;
  cpuinfo: boolean;
}

/**
 * Flags on which the two sources differ. A flag CPUID reports but the kernel hides usually means the kernel
 * disabled it (boot option, erratum, missing OS support); the reverse means a CPUID leaf the decoder misread.
 */
export function compareFlags(cpuid: CpuFacts, cpuinfo: CpuFacts): FlagDisagreement[] {
  const a = new Set(cpuid.flags);
  const b = new Set(cpuinfo.flags);
  return FLAGS.filter((f) => a.has(f.name) !== b.has(f.name)).map((f) => ({
    flag: f.name,
    cpuid: a.has(f.name),
    cpuinfo: b.has(f.name),
  }));
}
