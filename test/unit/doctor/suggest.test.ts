import { describe, expect, it } from 'vitest';
import { advise } from '../../../src/cpu/advice.js';
import { parseCpuinfo } from '../../../src/cpu/cpuinfo.js';
import { estimates, suggest, type Throughput } from '../../../src/cpu/suggest.js';
import { judge } from '../../../src/cpu/verdict.js';

const t = (
  compressor: Throughput['compressor'],
  level: number,
  allMBps: number,
  ratio: number,
): Throughput => ({
  compressor,
  level,
  status: 'measured',
  engine: 'test',
  singleMBps: allMBps / 2,
  allMBps,
  workers: 2,
  ratio,
});
const MEASURED: Throughput[] = [
  t('zstd', 3, 100, 0.4),
  t('zstd', 15, 10, 0.32),
  t('gzip', 6, 25, 0.39),
  t('lz4', 0, 300, 0.5),
  { compressor: 'xz', level: 6, status: 'pending', note: 'not yet' },
];

describe('compressor suggestion', () => {
  it('estimates the rootfs time from all-core throughput and skips unmeasured settings', () => {
    const e = estimates(MEASURED, 800e6);
    expect(e).toHaveLength(4);
    expect(e.find((x) => x.compressor === 'zstd' && x.level === 3)).toEqual({
      compressor: 'zstd',
      level: 3,
      seconds: 8,
      bytes: 320e6,
    });
  });

  it('picks the smallest image that fits the budget', () => {
    expect(suggest(MEASURED, 800e6, 100)).toMatchObject({
      compressor: 'zstd',
      level: 15,
      seconds: 80,
      fits: true,
    });
    expect(suggest(MEASURED, 800e6, 40)).toMatchObject({ compressor: 'gzip', level: 6, fits: true });
    expect(suggest(MEASURED, 800e6, 10)).toMatchObject({ compressor: 'zstd', level: 3, fits: true });
  });

  it('falls back to the fastest when nothing fits, and says so', () => {
    const s = suggest(MEASURED, 800e6, 1);
    expect(s).toMatchObject({ compressor: 'lz4', fits: false });
    expect(s?.reason).toContain('no measured setting fits 1 s');
  });

  it('gives no suggestion without measurements', () => {
    expect(suggest([], 800e6, 60)).toBeUndefined();
  });

  it('advises on the CPU and suggests from measured figures only, with no estimated cost of the flags', () => {
    const facts = parseCpuinfo(
      'processor : 0\nmodel name : QEMU Virtual CPU version 2.5+\nflags : sse sse2 pni cx16 hypervisor\n',
    );
    const verdict = judge(facts);
    const a = advise({ facts, verdict, throughput: MEASURED, rootfsBytes: 800e6, budgetSeconds: 30 });
    expect(a.find((x) => x.topic === 'cpu-model')?.missingFlags?.map((f) => f.flag)).toContain('avx2');
    expect(a.some((x) => 'costs' in x)).toBe(false);
    expect(a.find((x) => x.topic === 'compressor')?.suggestion).toMatchObject({
      compressor: 'zstd',
      level: 3,
    });
  });
});
