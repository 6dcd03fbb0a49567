/**
 * The native qcow2 writer read back by qemu: `qemu-img check` (structure, refcounts), `qemu-img compare`
 * against the raw disk (every byte), `qemu-img info` (virtual size, compression type).
 */

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Qcow2Reference, writeQcow2 } from '../../../src/qcow2/write.js';

const work = mkdtempSync(join(tmpdir(), 'qcow2-it-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const KiB = 1024;
const MiB = 1024 * KiB;
const TiB = 2 ** 40;
const CLUSTER = 64 * KiB;

/** A sparse raw disk of `size` bytes with `writes` (offset, bytes) in it. */
function rawDisk(name: string, size: number, writes: [number, Buffer][]): string {
  const file = join(work, `${name}.raw`);
  const fd = openSync(file, 'w');
  try {
    for (const [at, bytes] of writes) writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
  execFileSync('truncate', ['-s', String(size), file]);
  return file;
}

/** Text that compresses well, as a root file system's files mostly do. */
function text(bytes: number): Buffer {
  const lines: string[] = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    const l = `Dec 05 00:${String(i % 60).padStart(2, '0')} host kernel: [${i}] eth0: link up, 1000 Mbps\n`;
    lines.push(l);
    n += l.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

interface Check {
  'check-errors': number;
  'allocated-clusters'?: number;
  'compressed-clusters'?: number;
}

function check(qcow: string): Check {
  return JSON.parse(execFileSync('qemu-img', ['check', '--output=json', '-f', 'qcow2', qcow]).toString());
}

/** Throws (exit status 1) when any byte differs. */
function compare(raw: string, qcow: string): string {
  return execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, qcow]).toString();
}

function info(qcow: string): {
  'virtual-size': number;
  'format-specific': { data: Record<string, unknown> };
} {
  return JSON.parse(execFileSync('qemu-img', ['info', '--output=json', qcow]).toString());
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

interface Case {
  name: string;
  raw: () => string;
  virtualSize: number;
  /** Clusters written compressed and stored as is. */
  compressed: number;
  stored: number;
}

const random = randomBytes(4 * MiB);

const cases: Case[] = [
  {
    name: 'empty disk (all holes)',
    raw: () => rawDisk('empty', 64 * MiB, []),
    virtualSize: 64 * MiB,
    compressed: 0,
    stored: 0,
  },
  {
    name: 'disk full of random data (no cluster compresses)',
    raw: () => rawDisk('random', 4 * MiB, [[0, random]]),
    virtualSize: 4 * MiB,
    compressed: 0,
    stored: 64,
  },
  {
    name: 'compressible text with a random run and zero clusters written out',
    raw: () =>
      rawDisk('text', 64 * MiB, [
        [0, text(8 * MiB)],
        [8 * MiB, Buffer.alloc(MiB)],
        [9 * MiB, random.subarray(0, MiB)],
      ]),
    virtualSize: 64 * MiB,
    compressed: 128,
    stored: 16,
  },
  {
    // qemu inflates with a 4 KiB window (-12) but a whole cluster in one call, so matches reaching back up to the
    // cluster's start are valid: libdeflate's 32 KiB window is safe. Random 16 KiB repeated 4 times a cluster.
    name: 'repeats 16 KiB apart (matches beyond qemu’s 4 KiB window)',
    raw: () => rawDisk('far', 8 * MiB, [[MiB, Buffer.concat(Array(64).fill(random.subarray(0, 16 * KiB)))]]),
    virtualSize: 8 * MiB,
    compressed: 16,
    stored: 0,
  },
  {
    name: 'partition at an odd sector, extents ending mid-cluster, a cut-off last cluster',
    raw: () =>
      rawDisk('odd', 32 * MiB + 3 * 512, [
        [2049 * 512, text(300_001)],
        [5 * MiB - 100, random.subarray(0, 200)],
        [7 * MiB + 4 * KiB, text(4 * KiB)],
        [32 * MiB + 2 * 512, text(512)],
      ]),
    virtualSize: 32 * MiB + 3 * 512,
    // 300 001 bytes from 1 049 088 touch clusters 16..20; one each for the others.
    compressed: 5 + 2 + 1 + 1,
    stored: 0,
  },
  {
    name: 'sparse disk of 4.5 TiB (L1 over two clusters, three L2 tables)',
    raw: () =>
      rawDisk('huge', 4.5 * TiB, [
        [0, text(CLUSTER)],
        [2 * TiB + 12345 * 512, random.subarray(0, 1000)],
        [4.5 * TiB - 512, text(512)],
      ]),
    virtualSize: 4.5 * TiB,
    compressed: 3,
    stored: 0,
  },
];

describe('native qcow2 writer, read back by qemu-img', () => {
  const disks = new Map<string, string>();
  const rawOf = (c: Case): string => {
    if (!disks.has(c.name)) disks.set(c.name, c.raw());
    return disks.get(c.name) as string;
  };

  it.each(cases.flatMap((c) => (['zlib', 'zstd'] as const).map((compression) => ({ ...c, compression }))))(
    '$name, $compression',
    async (c) => {
      const raw = rawOf(c);
      const out = join(work, `${c.name.split(' ')[0]}-${c.compression}.qcow2`);
      const r = await writeQcow2(raw, out, { compression: c.compression, processors: 2 });
      expect({ compressed: r.compressed, stored: r.stored }).toEqual({
        compressed: c.compressed,
        stored: c.stored,
      });
      const k = check(out);
      expect(k['check-errors']).toBe(0);
      expect(k['allocated-clusters'] ?? 0).toBe(c.compressed + c.stored);
      expect(k['compressed-clusters'] ?? 0).toBe(c.compressed);
      expect(compare(raw, out)).toContain('Images are identical');
      const i = info(out);
      expect(i['virtual-size']).toBe(c.virtualSize);
      expect(i['format-specific'].data['compression-type']).toBe(c.compression);
    },
  );

  it('gives the same bytes with 1 and 2 workers', async () => {
    for (const c of [cases[2], cases[3]] as Case[]) {
      const raw = rawOf(c);
      const one = join(work, 'one.qcow2');
      const two = join(work, 'two.qcow2');
      await writeQcow2(raw, one, { compression: 'zlib', processors: 1 });
      await writeQcow2(raw, two, { compression: 'zlib', processors: 2 });
      expect(sha(one)).toBe(sha(two));
    }
  });

  it('writes an uncompressed image when compression is off', async () => {
    const raw = rawOf(cases[2] as Case);
    const out = join(work, 'plain.qcow2');
    const r = await writeQcow2(raw, out, { compress: false, compression: 'zlib' });
    expect(r.compressed).toBe(0);
    expect(check(out)['compressed-clusters'] ?? 0).toBe(0);
    expect(compare(raw, out)).toContain('Images are identical');
  });

  it.each(['zlib', 'zstd'] as const)(
    'copies the clusters an earlier image of the same settings holds identically, with the same bytes (%s)',
    async (compression) => {
      // A second bundle's disk: the first's with one text cluster changed, one random (stored) cluster changed,
      // one cluster zeroed and one cluster more.
      const size = 64 * MiB;
      const first = rawDisk(`first-${compression}`, size, [
        [0, text(8 * MiB)],
        [9 * MiB, random.subarray(0, MiB)],
      ]);
      const second = rawDisk(`second-${compression}`, size, [
        [0, text(8 * MiB)],
        [9 * MiB, random.subarray(0, MiB)],
        [CLUSTER, Buffer.from('bundle two')],
        [9 * MiB + CLUSTER, random.subarray(MiB, MiB + 100)],
        [3 * CLUSTER, Buffer.alloc(CLUSTER)],
        [20 * MiB, text(CLUSTER)],
      ]);
      const a = join(work, `first-${compression}.qcow2`);
      const written = await writeQcow2(first, a, { compression });
      const ref = written.reference(a);
      const alone = join(work, `alone-${compression}.qcow2`);
      await writeQcow2(second, alone, { compression });
      const b = join(work, `reused-${compression}.qcow2`);
      const r = await writeQcow2(second, b, { compression, reuse: ref });
      // 128 text + 16 random clusters in the first; 3 changed, the new one at 20 MiB has no counterpart.
      expect(r.reused).toBe(144 - 3);
      expect(sha(b)).toBe(sha(alone));
      expect(check(b)['check-errors']).toBe(0);
      expect(compare(second, b)).toContain('Images are identical');

      // A reference whose file changed since (or of other settings) is never trusted: every cluster is checked.
      const tampered = join(work, `tampered-${compression}.qcow2`);
      execFileSync('cp', [a, tampered]);
      const fd = openSync(tampered, 'r+');
      writeSync(fd, randomBytes(2 * MiB), 0, 2 * MiB, CLUSTER);
      closeSync(fd);
      const c = join(work, `checked-${compression}.qcow2`);
      const t = await writeQcow2(second, c, { compression, reuse: written.reference(tampered) });
      expect(t.reused).toBeLessThan(r.reused);
      expect(sha(c)).toBe(sha(alone));
      const other = await writeQcow2(second, c, { compression, level: 1, reuse: ref });
      expect(other.reused).toBe(0);

      // Written side by side: the second follows the first, batch by batch, and still copies every cluster.
      let live: Qcow2Reference | undefined;
      const lead = join(work, `lead-${compression}.qcow2`);
      const leading = writeQcow2(first, lead, {
        compression,
        processors: 1,
        share: (r) => (live = r),
      });
      while (!live) await new Promise((go) => setImmediate(go));
      const follower = join(work, `follower-${compression}.qcow2`);
      const f = await writeQcow2(second, follower, { compression, processors: 1, reuse: live });
      await leading;
      expect(f.reused).toBe(r.reused);
      expect(sha(follower)).toBe(sha(alone));
      expect(sha(lead)).toBe(sha(a));
      // The writer's own reference compares with its raw disk, which it holds open once removed (as a cut does).
      expect(live.raw()).toBeDefined();
      rmSync(first);
      const late = await writeQcow2(second, follower, { compression, reuse: live });
      expect(late.reused).toBe(r.reused);
      expect(sha(follower)).toBe(sha(alone));
      expect(ref.raw()).toBeUndefined();
      live.close();
      ref.close();
    },
  );

  it.each(['zlib', 'zstd'] as const)(
    'takes the bytes of the base ranges from the base disk, whatever its own file holds there (%s)',
    async (compression) => {
      const size = 32 * MiB;
      const random = randomBytes(MiB);
      const baseWrites: [number, Buffer][] = [
        [0, text(8 * MiB)],
        [9 * MiB, random],
      ];
      const base = rawDisk(`base-${compression}`, size, baseWrites);
      // The disk meant: the base with a few bytes changed inside cluster 1 and one cluster more at 20 MiB.
      const changed = Buffer.from('another bundle');
      const extra = text(CLUSTER).reverse();
      const meant = rawDisk(`meant-${compression}`, size, [
        ...baseWrites,
        [CLUSTER + 100, changed],
        [20 * MiB, extra],
      ]);
      // Its own file: only what the base does not hold, and garbage inside the ranges (never read).
      const ranges = Float64Array.from([0, CLUSTER + 50, CLUSTER + 200, 8 * MiB, 9 * MiB, 10 * MiB]);
      const own = rawDisk(`own-${compression}`, size, [
        [CLUSTER + 50, readFileSync(meant).subarray(CLUSTER + 50, CLUSTER + 200)],
        [5 * MiB, randomBytes(CLUSTER)],
        [20 * MiB, extra],
      ]);
      const alone = join(work, `meant-${compression}.qcow2`);
      await writeQcow2(meant, alone, { compression });
      const out = join(work, `own-${compression}.qcow2`);
      let shared: Qcow2Reference | undefined;
      await writeQcow2(own, out, { compression, base: { raw: base, ranges }, share: (r) => (shared = r) });
      expect(sha(out)).toBe(sha(alone));
      expect(compare(meant, out)).toContain('Images are identical');
      // Its raw file is not its disk: a later writer compares with its clusters decompressed instead.
      expect(shared?.raw()).toBeUndefined();
      shared?.close();

      // With the base's own image as reference, the clusters wholly in the ranges are copied without a read
      // (128 text and 16 random clusters; cluster 1 holds other bytes and is compressed again, as is 20 MiB).
      let ref: Qcow2Reference | undefined;
      await writeQcow2(base, join(work, `base-${compression}.qcow2`), {
        compression,
        share: (r) => (ref = r),
      });
      if (!ref) throw new Error('no reference');
      const copied = join(work, `own-ref-${compression}.qcow2`);
      const r = await writeQcow2(own, copied, { compression, base: { raw: base, ranges }, reuse: ref });
      expect(r.reused).toBe(144 - 1);
      expect(sha(copied)).toBe(sha(alone));
      expect(check(copied)['check-errors']).toBe(0);
      ref.close();
    },
  );

  it('stops with the caller’s reason when aborted', async () => {
    const raw = rawOf(cases[2] as Case);
    const ac = new AbortController();
    const reason = new Error('stop now');
    const run = writeQcow2(raw, join(work, 'aborted.qcow2'), {
      compression: 'zlib',
      processors: 1,
      signal: ac.signal,
      onProgress: () => ac.abort(reason),
    });
    await expect(run).rejects.toBe(reason);
  });
});
