/** The library calls in-process (vitest runs the TypeScript sources; the writer's workers come from dist/). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuVerdict, thisHostCpu } from '../../../src/api/cpu-verdict.js';
import { measureThroughput } from '../../../src/api/doctor-throughput.js';
import { parseCpuinfo } from '../../../src/cpu/cpuinfo.js';
import { judge } from '../../../src/cpu/verdict.js';

describe('doctor library calls', () => {
  // The live CPUID, not /proc/cpuinfo: a VM moved to another host since boot shows the new CPU only there.
  it('cpuVerdict() judges the live CPUID, with a warning line only when the verdict is bad', () => {
    const v = cpuVerdict();
    const live = thisHostCpu().cpuid;
    expect(live?.source).toBe('cpuid');
    const expected = judge(live ?? parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8')));
    expect(v?.verdict.status).toBe(expected.status);
    expect(v?.verdict.missing).toEqual(expected.missing);
    if (expected.warn) expect(v?.warning).toMatch(/^CPU: .*image-builder doctor/);
    else expect(v?.warning).toBeUndefined();
  });

  it("measures a setting with the squashfs writer's pool, one worker and all", async () => {
    const [t] = await measureThroughput({
      settings: [{ compressor: 'zstd', level: 1 }],
      durationMs: 50,
      sampleBytes: 2 * 1024 * 1024,
      workers: 2,
    });
    expect(t).toMatchObject({
      compressor: 'zstd',
      level: 1,
      status: 'measured',
      engine: 'libsquashfs',
      workers: 2,
    });
    expect(t?.singleMBps).toBeGreaterThan(0);
    expect(t?.allMBps).toBeGreaterThan(0);
    expect(t?.ratio).toBeLessThan(1);
  });
});
