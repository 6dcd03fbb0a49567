/**
 * The facts about this host's CPU: CPUID (registers the caller reads through the addon), cross-checked with
 * /proc/cpuinfo.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type CpuidReader, decodeCpuid } from './cpuid.js';
import { parseCpuinfo } from './cpuinfo.js';
import type { CpuFacts } from './facts.js';
import { FLAGS } from './flags.js';

export interface FlagDisagreement {
  flag: string;
  cpuid: boolean;
  cpuinfo: boolean;
}

export interface HostCpu {
  /** CPUID's view when available, else /proc/cpuinfo's. */
  facts: CpuFacts;
  cpuid?: CpuFacts;
  cpuinfo?: CpuFacts;
  disagreements: FlagDisagreement[];
  /** Why a source was not available. */
  notes: string[];
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

/**
 * Reads both sources; `reader` is the addon's CPUID, or why there is none. Never throws while one source works.
 * @throws Error when neither CPUID nor /proc/cpuinfo can be read.
 */
export function hostCpu(reader: CpuidReader | string, cpuinfoPath = '/proc/cpuinfo'): HostCpu {
  const notes: string[] = [];
  let cpuid: CpuFacts | undefined;
  let cpuinfo: CpuFacts | undefined;
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
