/** Recognises the CPU model names hypervisors give their generic and named virtual CPUs. */

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
