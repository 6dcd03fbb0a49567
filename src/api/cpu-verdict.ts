/**
 * `cpuVerdict`: the quick CPU check `build` prints a warning from (the full report is `doctor`), and this host's
 * CPU facts, with CPUID read through the native addon's one loader.
 */
import type { CpuidReader } from '../cpu/cpuid.js';
import { type HostCpu, hostCpu } from '../cpu/host.js';
import { type CpuVerdict, judge } from '../cpu/verdict.js';
import { native } from '../squashfs/native.js';

/** A quick verdict on this host's CPU for `build` to print: no measurement, no processes, well under 100 ms. */
export interface CpuVerdictResult {
  verdict: CpuVerdict;
  /** One line to print as a warning when the verdict is bad; absent when the CPU is fine. */
  warning?: string;
}

/** The addon's CPUID functions, or why there are none (off x86, or the addon is not built). */
export function cpuidReader(): CpuidReader | string {
  try {
    const a = native() as unknown as Partial<CpuidReader>;
    if (typeof a.cpuid === 'function' && typeof a.xgetbv === 'function') return a as CpuidReader;
    return 'the native addon has no cpuid function (not an x86 build, or built without native/cpuid.cc)';
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * This host's CPU from CPUID and /proc/cpuinfo.
 * @throws Error when neither can be read.
 */
export function thisHostCpu(): HostCpu {
  return hostCpu(cpuidReader());
}

/**
 * Judges this host's CPU from CPUID (or /proc/cpuinfo). Never throws: on failure it returns no warning.
 */
export function cpuVerdict(): CpuVerdictResult | undefined {
  try {
    const verdict = judge(thisHostCpu().facts);
    return verdict.warn
      ? { verdict, warning: `CPU: ${verdict.summary} (run \`image-builder doctor\` for figures and fixes)` }
      : { verdict };
  } catch {
    return undefined;
  }
}
