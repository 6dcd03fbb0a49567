/** Parses a Linux /proc/cpuinfo (x86) into {@link CpuFacts}. */
import { type CpuFacts, hypervisorFromModel } from './facts.js';
import { FLAGS } from './flags.js';

export class CpuinfoParseError extends Error {
  override name = 'CpuinfoParseError';
}

/**
 * Reads the processor blocks of a /proc/cpuinfo text. Flags are those every processor reports (a guest
 * normally shows the same set on each).
 * @throws CpuinfoParseError when the text has no `flags` line (not an x86 /proc/cpuinfo).
 */
export function parseCpuinfo(text: string): CpuFacts {
  const blocks: Map<string, string>[] = [];
  let cur: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = /^([^:]+?)\s*:\s?(.*)$/.exec(line);
    if (!m) continue;
    const key = (m[1] ?? '').trim();
    const value = (m[2] ?? '').trim();
    if (key === 'processor' || !cur) {
      cur = new Map();
      blocks.push(cur);
    }
    cur.set(key, value);
  }
  const withFlags = blocks.filter((b) => b.has('flags'));
  const first = withFlags[0];
  if (!first) throw new CpuinfoParseError('no "flags" line: not an x86 /proc/cpuinfo');
  let present = new Set((first.get('flags') ?? '').split(/\s+/).filter(Boolean));
  for (const b of withFlags.slice(1)) {
    const f = new Set((b.get('flags') ?? '').split(/\s+/));
    present = new Set([...present].filter((x) => f.has(x)));
  }
  const model = first.get('model name') ?? '';
  const num = (k: string) => {
    const v = first.get(k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const hvPresent = present.has('hypervisor');
  const hvVendor = hvPresent ? hypervisorFromModel(model) : undefined;
  const facts: CpuFacts = {
    source: 'cpuinfo',
    vendor: first.get('vendor_id') ?? '',
    model,
    hypervisor: { present: hvPresent, ...(hvPresent ? { vendor: hvVendor ?? 'unknown' } : {}) },
    flags: FLAGS.filter((f) => present.has(f.name)).map((f) => f.name),
    logicalCpus: Math.max(1, blocks.filter((b) => b.has('processor')).length),
  };
  const family = num('cpu family');
  const modelNumber = num('model');
  if (family !== undefined) facts.family = family;
  if (modelNumber !== undefined) facts.modelNumber = modelNumber;
  return facts;
}
