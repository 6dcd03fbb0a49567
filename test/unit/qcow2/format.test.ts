import { describe, expect, it } from 'vitest';
import { compressedEntry, encodeHeader, l1Entry, standardEntry } from '../../../src/qcow2/format.js';

// Expected values worked out by hand from qemu's docs/interop/qcow2.txt, 64 KiB clusters (cluster_bits 16):
// the compressed descriptor's offset field is x = 62 - (16 - 8) = 54 bits wide, the sector count sits in bits
// 54..61, bit 62 marks it compressed; standard and L1 entries carry the offset in bits 9..55 and COPIED (63).
describe('qcow2 entries', () => {
  it.each([
    // offset, length, extra sectors, descriptor
    ['within one sector', 0x10000, 100, 0, 0x4000_0000_0001_0000n],
    ['over one sector boundary', 0x10200, 1000, 1, 0x4040_0000_0001_0200n],
    ['last byte of a sector, 2 bytes', 0x101ff, 2, 1, 0x4040_0000_0001_01ffn],
    ['exactly one sector', 0x20000, 512, 0, 0x4000_0000_0002_0000n],
    ['a cluster less one byte at an odd offset', 0x3_0001, 65535, 127, 0x5fc0_0000_0003_0001n],
    ['a cluster less one byte over 129 sectors', 0x3_0100, 65535, 128, 0x6000_0000_0003_0100n],
  ])('compressed descriptor: %s', (_, offset, length, extra, want) => {
    const d = compressedEntry(offset, length);
    expect(d).toBe(want);
    expect(Number((d >> 54n) & 0xffn)).toBe(extra);
  });

  it('refuses compressed lengths of a whole cluster and offsets past 54 bits', () => {
    expect(() => compressedEntry(0x10000, 65536)).toThrow(RangeError);
    expect(() => compressedEntry(0x10000, 0)).toThrow(RangeError);
    expect(() => compressedEntry(2 ** 54, 10)).toThrow(RangeError);
  });

  it('standard and L1 entries carry COPIED and a cluster-aligned offset', () => {
    expect(standardEntry(0x30000)).toBe(0x8000_0000_0003_0000n);
    expect(l1Entry(0x1234_5678_0000)).toBe(0x8000_1234_5678_0000n);
    expect(() => standardEntry(0x30200)).toThrow(RangeError);
    expect(() => l1Entry(512)).toThrow(RangeError);
  });
});

describe('qcow2 header', () => {
  const fields = {
    virtualSize: 5 * 2 ** 40,
    l1Entries: 10240,
    l1Offset: 0x5_0000,
    refcountTableOffset: 0x7_0000,
    refcountTableClusters: 1,
  };

  it('zlib: version 3, 112 bytes, no incompatible feature, compression type 0', () => {
    const h = encodeHeader({ ...fields, compression: 'zlib' });
    expect(h.length).toBe(112);
    expect(h.subarray(0, 8).toString('hex')).toBe('514649fb00000003');
    expect(h.readBigUInt64BE(8)).toBe(0n); // no backing file
    expect(h.readUInt32BE(20)).toBe(16);
    expect(h.subarray(24, 32).toString('hex')).toBe('0000050000000000');
    expect(h.readUInt32BE(32)).toBe(0); // no encryption
    expect(h.subarray(36, 48).toString('hex')).toBe('000028000000000000050000');
    expect(h.subarray(48, 60).toString('hex')).toBe('000000000007000000000001');
    expect(h.readBigUInt64BE(72)).toBe(0n);
    expect(h.readUInt32BE(96)).toBe(4);
    expect(h.readUInt32BE(100)).toBe(112);
    expect(h.subarray(104, 112).toString('hex')).toBe('0000000000000000');
  });

  it('zstd: incompatible feature bit 3 and compression type 1 at byte 104', () => {
    const h = encodeHeader({ ...fields, compression: 'zstd' });
    expect(h.subarray(72, 80).toString('hex')).toBe('0000000000000008');
    expect(h[104]).toBe(1);
  });
});
