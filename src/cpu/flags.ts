/**
 * The CPU flags that matter to the compressors, where CPUID reports them, and the name Linux gives them in
 * /proc/cpuinfo. Sources: the Intel SDM / AMD APM CPUID tables and the kernel's cpufeatures names.
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

export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'pni',
    label: 'SSE3',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 0,
    tier: 'baseline',
    use: 'part of x86-64-v2',
  },
  {
    name: 'cx16',
    label: 'CMPXCHG16B',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 13,
    tier: 'baseline',
    use: 'part of x86-64-v2',
  },
  {
    name: 'lahf_lm',
    label: 'LAHF/SAHF',
    leaf: LX,
    subleaf: 0,
    reg: 'ecx',
    bit: 0,
    tier: 'baseline',
    use: 'part of x86-64-v2',
  },
  {
    name: 'xsave',
    label: 'XSAVE',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 26,
    tier: 'baseline',
    use: 'saving vector state (needed for AVX)',
  },
  {
    name: 'ssse3',
    label: 'SSSE3',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 9,
    tier: 'baseline',
    use: 'zlib Adler-32, zstd literal copies',
  },
  {
    name: 'sse4_1',
    label: 'SSE4.1',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 19,
    tier: 'baseline',
    use: 'vectorised match search',
  },
  {
    name: 'sse4_2',
    label: 'SSE4.2',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 20,
    tier: 'baseline',
    use: 'CRC32C instruction: zlib deflate hashing, checksums',
  },
  {
    name: 'popcnt',
    label: 'POPCNT',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 23,
    tier: 'baseline',
    use: 'bit counting in entropy coders',
  },
  {
    name: 'pclmulqdq',
    label: 'PCLMULQDQ',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 1,
    tier: 'baseline',
    use: 'carry-less multiply: fast CRC-32 (gzip) and CRC-64 (xz)',
  },
  {
    name: 'movbe',
    label: 'MOVBE',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 22,
    tier: 'baseline',
    use: 'big-endian loads in bit readers/writers',
  },
  {
    name: 'avx',
    label: 'AVX',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 28,
    osState: 'avx',
    tier: 'baseline',
    use: '256-bit vectors (needed for AVX2)',
  },
  {
    name: 'fma',
    label: 'FMA',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 12,
    osState: 'avx',
    tier: 'baseline',
    use: 'part of x86-64-v3; tells a host-passthrough guest',
  },
  {
    name: 'f16c',
    label: 'F16C',
    leaf: L1,
    subleaf: 0,
    reg: 'ecx',
    bit: 29,
    osState: 'avx',
    tier: 'baseline',
    use: 'part of x86-64-v3',
  },
  {
    name: 'avx2',
    label: 'AVX2',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 5,
    osState: 'avx',
    tier: 'baseline',
    use: 'zstd/lz4 match finding and copies, zlib hashing and checksums',
  },
  {
    name: 'bmi1',
    label: 'BMI1',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 3,
    tier: 'baseline',
    use: 'trailing-zero counts in match finders',
  },
  {
    name: 'bmi2',
    label: 'BMI2',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 8,
    tier: 'baseline',
    use: 'zstd Huffman/FSE bit coding (zstd picks a BMI2 code path at run time)',
  },
  {
    name: 'abm',
    label: 'LZCNT',
    leaf: LX,
    subleaf: 0,
    reg: 'ecx',
    bit: 5,
    tier: 'baseline',
    use: 'leading-zero counts in entropy coders',
  },
  {
    name: 'sha_ni',
    label: 'SHA',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 29,
    tier: 'extra',
    use: 'SHA-256 of image layers and artifact digests',
  },
  {
    name: 'vpclmulqdq',
    label: 'VPCLMULQDQ',
    leaf: L7,
    subleaf: 0,
    reg: 'ecx',
    bit: 10,
    osState: 'avx',
    tier: 'extra',
    use: 'wide CRC folding',
  },
  {
    name: 'avx512f',
    label: 'AVX-512F',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 16,
    osState: 'avx512',
    tier: 'extra',
    use: '512-bit vectors',
  },
  {
    name: 'avx512dq',
    label: 'AVX-512DQ',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 17,
    osState: 'avx512',
    tier: 'extra',
    use: 'AVX-512 family',
  },
  {
    name: 'avx512ifma',
    label: 'AVX-512IFMA',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 21,
    osState: 'avx512',
    tier: 'extra',
    use: 'AVX-512 family',
  },
  {
    name: 'avx512cd',
    label: 'AVX-512CD',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 28,
    osState: 'avx512',
    tier: 'extra',
    use: 'AVX-512 family',
  },
  {
    name: 'avx512bw',
    label: 'AVX-512BW',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 30,
    osState: 'avx512',
    tier: 'extra',
    use: 'byte/word vectors: match search, checksums',
  },
  {
    name: 'avx512vl',
    label: 'AVX-512VL',
    leaf: L7,
    subleaf: 0,
    reg: 'ebx',
    bit: 31,
    osState: 'avx512',
    tier: 'extra',
    use: 'AVX-512 family',
  },
  {
    name: 'avx512vbmi',
    label: 'AVX-512VBMI',
    leaf: L7,
    subleaf: 0,
    reg: 'ecx',
    bit: 1,
    osState: 'avx512',
    tier: 'extra',
    use: 'byte permutes',
  },
  {
    name: 'avx512_vbmi2',
    label: 'AVX-512VBMI2',
    leaf: L7,
    subleaf: 0,
    reg: 'ecx',
    bit: 6,
    osState: 'avx512',
    tier: 'extra',
    use: 'compress/expand of bytes',
  },
  {
    name: 'avx512_vnni',
    label: 'AVX-512VNNI',
    leaf: L7,
    subleaf: 0,
    reg: 'ecx',
    bit: 11,
    osState: 'avx512',
    tier: 'extra',
    use: 'AVX-512 family',
  },
  {
    name: 'avx512_bitalg',
    label: 'AVX-512BITALG',
    leaf: L7,
    subleaf: 0,
    reg: 'ecx',
    bit: 12,
    osState: 'avx512',
    tier: 'extra',
    use: 'AVX-512 family',
  },
  {
    name: 'avx512_vpopcntdq',
    label: 'AVX-512VPOPCNTDQ',
    leaf: L7,
    subleaf: 0,
    reg: 'ecx',
    bit: 14,
    osState: 'avx512',
    tier: 'extra',
    use: 'AVX-512 family',
  },
];

/** Flag names of the x86-64 micro-architecture levels (psABI), cumulative from v2. */
export const LEVELS: readonly { readonly level: 2 | 3 | 4; readonly flags: readonly string[] }[] = [
  { level: 2, flags: ['cx16', 'lahf_lm', 'popcnt', 'pni', 'sse4_1', 'sse4_2', 'ssse3'] },
  { level: 3, flags: ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave'] },
  { level: 4, flags: ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'] },
];

/** The highest x86-64 level (1–4) whose flags, and those of every lower level, are all present. */
export function x86Level(has: (flag: string) => boolean): 1 | 2 | 3 | 4 {
  let out: 1 | 2 | 3 | 4 = 1;
  for (const l of LEVELS) {
    if (!l.flags.every(has)) break;
    out = l.level;
  }
  return out;
}

export function flagSpec(name: string): FlagSpec | undefined {
  return FLAGS.find((f) => f.name === name);
}
