/**
 * `cpuVerdict`: the quick CPU check `build` prints a warning from (the full report is `doctor`).
 */
import { hostCpu } from '../cpu/host.js';
import { type CpuVerdict, judge } from '../cpu/verdict.js';

/** A quick verdict on this host's CPU for `build` to print: no measurement, no processes, well under 100 ms. */
export interface CpuVerdictResult {
  verdict: CpuVerdict;
  /** One line to print as a warning when the verdict is bad; absent when the CPU is fine. */
  warning?: string;
}

/**
 * Judges this host's CPU from CPUID (or /proc/cpuinfo). Never throws: on failure it returns no warning.
 */
export function cpuVerdict(): CpuVerdictResult | undefined {
  try {
    const verdict = judge(hostCpu().facts);
    return verdict.warn
      ? { verdict, warning: `CPU: ${verdict.summary} (run \`image-builder doctor\` for figures and fixes)` }
      : { verdict };
  } catch {
    return undefined;
  }
}
