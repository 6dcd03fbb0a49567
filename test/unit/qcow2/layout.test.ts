import { describe, expect, it } from 'vitest';
import { clustersOfExtents } from '../../../src/qcow2/clusters.js';
import { l1EntriesFor, planMetadata } from '../../../src/qcow2/layout.js';
import { Placement } from '../../../src/qcow2/place.js';
import { Refcounts } from '../../../src/qcow2/refcounts.js';

const C = 65536;

describe('clusters of data extents', () => {
  it('takes each touched cluster once, whole, in order', () => {
    const extents = Float64Array.from([100, 200, 65000, 70000, 131072, 131073, 200000, 400000]);
    expect([...clustersOfExtents(extents)]).toEqual([0, C, 2 * C, 3 * C, 4 * C, 5 * C, 6 * C]);
    expect(clustersOfExtents(new Float64Array()).length).toBe(0);
  });
});

describe('placement', () => {
  it('packs compressed clusters byte by byte, aligns stored ones, leaves zeros unallocated', () => {
    const p = new Placement();
    const offsets = Float64Array.from([0, C, 2 * C, 8192 * C]);
    const sizes = Int32Array.from([100, 0, -C, 50]);
    const data = new Uint8Array(100 + C + 50).fill(7);
    const pieces = p.place(offsets, sizes, data);
    // The stored cluster goes to the next boundary (2 * C); the 50 bytes after it follow on.
    expect(pieces.map((x) => [x.offset, x.bytes.length])).toEqual([
      [C, 100],
      [2 * C, C + 50],
    ]);
    expect(p.end).toBe(3 * C + 50);
    const l2a = p.l2Tables.get(0) as Buffer;
    expect(l2a.readBigUInt64BE(0)).toBe(0x4000_0000_0001_0000n);
    expect(l2a.readBigUInt64BE(8)).toBe(0n);
    expect(l2a.readBigUInt64BE(16)).toBe(0x8000_0000_0002_0000n);
    expect((p.l2Tables.get(1) as Buffer).readBigUInt64BE(0)).toBe(0x4000_0000_0003_0000n);
    expect([0, 1, 2, 3, 4].map((c) => p.refcounts.get(c))).toEqual([0, 1, 1, 1, 0]);
    expect(p.stats).toEqual({ compressed: 2, stored: 1, zero: 1 });
  });

  it('counts a host cluster once per compressed cluster that touches it', () => {
    const p = new Placement();
    p.place(Float64Array.from([0, C]), Int32Array.from([C - 10, 30]), new Uint8Array(C + 20));
    // The second one starts at 2C - 10 and runs into host cluster 2.
    expect([1, 2].map((c) => p.refcounts.get(c))).toEqual([2, 1]);
  });
});

describe('metadata layout', () => {
  it('puts L2, L1, refcount table and block after the data, each counted once', () => {
    const refcounts = new Refcounts();
    refcounts.addRange(C, 100);
    const l2 = Buffer.alloc(C);
    const plan = planMetadata({
      virtualSize: 2 ** 30,
      compression: 'zlib',
      dataEnd: C + 100,
      l2Tables: new Map([[0, l2]]),
      refcounts,
    });
    expect(plan.fileSize).toBe(6 * C);
    expect(plan.pieces.map((x) => [x.offset, x.bytes.length])).toEqual([
      [0, 112],
      [2 * C, C], // L2
      [3 * C, C], // L1: 2 entries, one cluster
      [4 * C, C], // refcount table
      [5 * C, C], // refcount block
    ]);
    const header = plan.pieces[0]!.bytes;
    expect(header.readUInt32BE(36)).toBe(2);
    expect(header.readBigUInt64BE(40)).toBe(BigInt(3 * C));
    expect(header.readBigUInt64BE(48)).toBe(BigInt(4 * C));
    const l1 = plan.pieces[2]!.bytes;
    expect(l1.readBigUInt64BE(0)).toBe(0x8000_0000_0002_0000n);
    expect(l1.readBigUInt64BE(8)).toBe(0n);
    expect(plan.pieces[3]!.bytes.readBigUInt64BE(0)).toBe(BigInt(5 * C));
    const block = plan.pieces[4]!.bytes;
    expect([0, 1, 2, 3, 4, 5, 6].map((c) => block.readUInt16BE(c * 2))).toEqual([1, 1, 1, 1, 1, 1, 0]);
  });

  it('adds a second refcount block when the metadata crosses 32768 clusters', () => {
    const plan = planMetadata({
      virtualSize: 2 ** 40,
      compression: 'zstd',
      dataEnd: 32766 * C,
      l2Tables: new Map([[0, Buffer.alloc(C)]]),
      refcounts: new Refcounts(),
    });
    // L2 at 32766, L1 (128 entries) at 32767, table at 32768, blocks at 32769 and 32770.
    expect(plan.fileSize).toBe(32771 * C);
    const table = plan.pieces[3]!.bytes;
    expect(plan.pieces[3]!.offset).toBe(32768 * C);
    expect([table.readBigUInt64BE(0), table.readBigUInt64BE(8)]).toEqual([
      BigInt(32769 * C),
      BigInt(32770 * C),
    ]);
    const blocks = plan.pieces[4]!.bytes;
    expect(blocks.length).toBe(2 * C);
    // Cluster 32770 (the second block) is counted in the second block, entry 2.
    expect(blocks.readUInt16BE(C + 2 * 2)).toBe(1);
    expect(blocks.readUInt16BE(C + 3 * 2)).toBe(0);
  });

  it('sizes the L1 table by the virtual size', () => {
    // One entry per 8192 clusters of 64 KiB = 512 MiB.
    expect(l1EntriesFor(2 ** 29)).toBe(1);
    expect(l1EntriesFor(2 ** 29 + 512)).toBe(2);
    expect(l1EntriesFor(4.5 * 2 ** 40)).toBe(9216);
  });
});
