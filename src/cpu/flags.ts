/**
 * The CPU flags that matter to the compressors: where CPUID reports each (Intel SDM / AMD APM tables), the name
 * Linux gives it in /proc/cpuinfo (the kernel's cpufeatures names), and what it speeds up here.
 */

/** Register of a CPUID result. */
export type Reg = 'eax' | 'ebx' | 'ecx' | 'edx';

/** Which extended state (XCR0 bits) the OS must enable for a flag to be usable. */
export type OsState = 'avx' | 'avx512';

export interface FlagSpec {
  /** Name as in /proc/cpuinfo `flags`. */
  readonly name: string;
  /** Name users know from vendor documentation. */
  readonly label: string;
  readonly leaf: number;
  readonly subleaf: number;
  readonly reg: Reg;
  readonly bit: number;
  readonly osState?: OsState;
  /**
   * `baseline`: a CPU of the last decade has it; its absence on a hypervisor means the guest CPU model hides it.
   * `extra`: many current CPUs lack it (AVX-512, SHA); reported, never alarmed about on its own.
   */
  readonly tier: 'baseline' | 'extra';
  /** What it speeds up here. */
  readonly use: string;
}

const L1 = 1;
const L7 = 7;
const LX = 0x80000001;
const V2 = 'part of x86-64-v2';
const AVX512 = 'AVX-512 family';

type Row = [name: string, label: string, leaf: number, reg: Reg, bit: number, os: OsState | '', use: string];

// Baseline, then extra; subleaf 0 throughout.
const BASELINE: readonly Row[] = [
  ['pni', 'SSE3', L1, 'ecx', 0, '', V2],
  ['cx16', 'CMPXCHG16B', L1, 'ecx', 13, '', V2],
  ['lahf_lm', 'LAHF/SAHF', LX, 'ecx', 0, '', V2],
  ['xsave', 'XSAVE', L1, 'ecx', 26, '', 'saving vector state (needed for AVX)'],
  ['ssse3', 'SSSE3', L1, 'ecx', 9, '', 'zlib Adler-32, zstd literal copies'],
  ['sse4_1', 'SSE4.1', L1, 'ecx', 19, '', 'vectorised match search'],
  ['sse4_2', 'SSE4.2', L1, 'ecx', 20, '', 'CRC32C instruction: zlib deflate hashing, checksums'],
  ['popcnt', 'POPCNT', L1, 'ecx', 23, '', 'bit counting in entropy coders'],
  ['pclmulqdq', 'PCLMULQDQ', L1, 'ecx', 1, '', 'carry-less multiply: fast CRC-32 (gzip) and CRC-64 (xz)'],
  ['movbe', 'MOVBE', L1, 'ecx', 22, '', 'big-endian loads in bit readers/writers'],
  ['avx', 'AVX', L1, 'ecx', 28, 'avx', '256-bit vectors (needed for AVX2)'],
  ['fma', 'FMA', L1, 'ecx', 12, 'avx', 'part of x86-64-v3; tells a host-passthrough guest'],
  ['f16c', 'F16C', L1, 'ecx', 29, 'avx', 'part of x86-64-v3'],
  ['avx2', 'AVX2', L7, 'ebx', 5, 'avx', 'zstd/lz4 match finding and copies, zlib hashing and checksums'],
  ['bmi1', 'BMI1', L7, 'ebx', 3, '', 'trailing-zero counts in match finders'],
  ['bmi2', 'BMI2', L7, 'ebx', 8, '', 'zstd Huffman/FSE bit coding (zstd picks a BMI2 code path at run time)'],
  ['abm', 'LZCNT', LX, 'ecx', 5, '', 'leading-zero counts in entropy coders'],
];
const EXTRA: readonly Row[] = [
  ['sha_ni', 'SHA', L7, 'ebx', 29, '', 'SHA-256 of image layers and artifact digests'],
  ['vpclmulqdq', 'VPCLMULQDQ', L7, 'ecx', 10, 'avx', 'wide CRC folding'],
  ['avx512f', 'AVX-512F', L7, 'ebx', 16, 'avx512', '512-bit vectors'],
  ['avx512dq', 'AVX-512DQ', L7, 'ebx', 17, 'avx512', AVX512],
  ['avx512ifma', 'AVX-512IFMA', L7, 'ebx', 21, 'avx512', AVX512],
  ['avx512cd', 'AVX-512CD', L7, 'ebx', 28, 'avx512', AVX512],
  ['avx512bw', 'AVX-512BW', L7, 'ebx', 30, 'avx512', 'byte/word vectors: match search, checksums'],
  ['avx512vl', 'AVX-512VL', L7, 'ebx', 31, 'avx512', AVX512],
  ['avx512vbmi', 'AVX-512VBMI', L7, 'ecx', 1, 'avx512', 'byte permutes'],
  ['avx512_vbmi2', 'AVX-512VBMI2', L7, 'ecx', 6, 'avx512', 'compress/expand of bytes'],
  ['avx512_vnni', 'AVX-512VNNI', L7, 'ecx', 11, 'avx512', AVX512],
  ['avx512_bitalg', 'AVX-512BITALG', L7, 'ecx', 12, 'avx512', AVX512],
  ['avx512_vpopcntdq', 'AVX-512VPOPCNTDQ', L7, 'ecx', 14, 'avx512', AVX512],
];

const spec =
  (tier: FlagSpec['tier']) =>
  ([name, label, leaf, reg, bit, os, use]: Row): FlagSpec => ({
    name,
    label,
    leaf,
    subleaf: 0,
    reg,
    bit,
    ...(os ? { osState: os } : {}),
    tier,
    use,
  });

export const FLAGS: readonly FlagSpec[] = [...BASELINE.map(spec('baseline')), ...EXTRA.map(spec('extra'))];

/** Flag names of the x86-64 micro-architecture levels (psABI), cumulative from v2. */
const LEVELS: readonly [2 | 3 | 4, readonly string[]][] = [
  [2, ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3']],
  [3, ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave']],
  [4, ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl']],
];

/** The highest x86-64 level (1–4) whose flags, and those of every lower level, are all present. */
export function x86Level(has: (flag: string) => boolean): 1 | 2 | 3 | 4 {
  let out: 1 | 2 | 3 | 4 = 1;
  for (const [level, flags] of LEVELS) {
    if (!flags.every(has)) break;
    out = level;
  }
  return out;
}

/** The label users know a flag by (its /proc/cpuinfo name when the doctor does not know it). */
export function flagLabel(name: string): string {
  return FLAGS.find((f) => f.name === name)?.label ?? name;
}
