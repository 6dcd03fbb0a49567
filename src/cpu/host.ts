/** The facts about this host's CPU: CPUID through the addon, cross-checked with /proc/cpuinfo. */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { native } from '../squashfs/native.js';
import { compareFlags, type FlagDisagreement } from './compare.js';
import { type CpuidReader, decodeCpuid } from './cpuid.js';
import { parseCpuinfo } from './cpuinfo.js';
import type { CpuFacts } from './facts.js';

export interface HostCpu {
  /** CPUID's view when available, else /proc/cpuinfo's. */
  facts: CpuFacts;
  cpuid?: CpuFacts;
  cpuinfo?: CpuFacts;
  disagreements: FlagDisagreement[];
  /** Why a source was not available. */
  notes: string[];
}

/** The addon's CPUID functions, absent off x86 or when the addon is not built. */
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
 * Reads both sources; never throws while at least one works.
 * @throws Error when neither CPUID nor /proc/cpuinfo can be read.
 */
export function hostCpu(cpuinfoPath = '/proc/cpuinfo'): HostCpu {
  const notes: string[] = [];
  let cpuid: CpuFacts | undefined;
  let cpuinfo: CpuFacts | undefined;
  const reader = cpuidReader();
  if (typeof reader === 'string') notes.push(`CPUID unavailable: ${reader}`);
  else cpuid = decodeCpuid(reader, availableParallelism());
  try {
    cpuinfo = parseCpuinfo(readFileSync(cpuinfoPath, 'utf8'));
  } catch (err) {
    notes.push(`${cpuinfoPath} unavailable: ${(err as Error).message}`);
  }
  const facts = cpuid ?? cpuinfo;
  if (!facts) throw new Error(`cannot read the CPU: ${notes.join('; ')}`);
  return {
    facts,
    ...(cpuid ? { cpuid } : {}),
    ...(cpuinfo ? { cpuinfo } : {}),
    disagreements: cpuid && cpuinfo ? compareFlags(cpuid, cpuinfo) : [],
    notes,
  };
}
