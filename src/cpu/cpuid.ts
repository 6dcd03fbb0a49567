/** Decodes raw CPUID registers (read by the native addon) into {@link CpuFacts}. */
import type { CpuFacts } from './facts.js';
import { hypervisorVendor } from './facts.js';
import { FLAGS, type Reg } from './flags.js';

/** The addon's thin functions: registers only. */
export interface CpuidReader {
  cpuid(leaf: number, subleaf?: number): readonly [number, number, number, number];
  /** XCR0 as [low, high], or null when the OS has not enabled XSAVE. */
  xgetbv(index?: number): readonly [number, number] | null;
}

const REG_INDEX: Record<Reg, 0 | 1 | 2 | 3> = { eax: 0, ebx: 1, ecx: 2, edx: 3 };

function ascii(...regs: number[]): string {
  const b = Buffer.alloc(regs.length * 4);
  regs.forEach((r, i) => {
    b.writeUInt32LE(r >>> 0, i * 4);
  });
  return b.toString('latin1');
}

/** Decodes vendor, brand, family/model, hypervisor and the known flags (honouring OS-enabled vector state). */
export function decodeCpuid(r: CpuidReader, logicalCpus: number): CpuFacts {
  const [maxLeaf, vb, vc, vd] = r.cpuid(0);
  const vendor = ascii(vb, vd, vc);
  const [sig = 0, , ecx1 = 0] = maxLeaf >= 1 ? r.cpuid(1) : [0, 0, 0, 0];
  const [maxExt = 0] = r.cpuid(0x80000000);
  let model = '';
  if (maxExt >= 0x80000004) {
    model = ascii(...r.cpuid(0x80000002), ...r.cpuid(0x80000003), ...r.cpuid(0x80000004))
      .replace(/\0+/g, '')
      .trim()
      .replace(/\s+/g, ' ');
  }
  const baseFamily = (sig >>> 8) & 0xf;
  const family = baseFamily === 0xf ? baseFamily + ((sig >>> 20) & 0xff) : baseFamily;
  const modelNumber =
    baseFamily === 0x6 || baseFamily === 0xf
      ? (((sig >>> 16) & 0xf) << 4) | ((sig >>> 4) & 0xf)
      : (sig >>> 4) & 0xf;

  // Vector flags count only when the OS saves their registers (XCR0), as the kernel does for /proc/cpuinfo.
  const xcr0 = (ecx1 & (1 << 27)) !== 0 ? r.xgetbv(0) : null;
  const lo = xcr0 ? xcr0[0] >>> 0 : 0;
  const osAvx = (lo & 0x6) === 0x6;
  const osAvx512 = osAvx && (lo & 0xe0) === 0xe0;

  const leafCache = new Map<string, readonly number[]>();
  const read = (leaf: number, sub: number): readonly number[] => {
    const max = leaf >= 0x80000000 ? maxExt : maxLeaf;
    if (leaf > max) return [0, 0, 0, 0];
    const k = `${leaf}:${sub}`;
    let v = leafCache.get(k);
    if (!v) {
      v = r.cpuid(leaf, sub);
      leafCache.set(k, v);
    }
    return v;
  };
  const flags = FLAGS.filter((f) => {
    const v = read(f.leaf, f.subleaf)[REG_INDEX[f.reg]] ?? 0;
    if (((v >>> f.bit) & 1) === 0) return false;
    if (f.osState === 'avx') return osAvx;
    if (f.osState === 'avx512') return osAvx512;
    return true;
  }).map((f) => f.name);

  const present = (ecx1 & (1 << 31)) !== 0;
  let signature: string | undefined;
  if (present) {
    const [, b, c, d] = r.cpuid(0x40000000);
    signature = ascii(b, c, d).replace(/\0+$/, '');
  }
  return {
    source: 'cpuid',
    vendor,
    model,
    family,
    modelNumber,
    hypervisor: present
      ? { present, vendor: hypervisorVendor(signature ?? ''), ...(signature ? { signature } : {}) }
      : { present },
    flags,
    logicalCpus,
  };
}
