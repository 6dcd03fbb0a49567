import { describe, expect, it } from 'vitest';
import { patchCoreImg, patchMbr } from '../../../src/stages/bios-boot.js';

describe('BIOS boot fields', () => {
  it('points the MBR at core.img and keeps the partition table', () => {
    const mbr = Buffer.alloc(512);
    mbr.fill(0xab, 0x1b8, 0x1fe);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const boot = Buffer.alloc(512, 0xcc);
    const out = patchMbr(mbr, boot, 2048);
    expect(out.readBigUInt64LE(0x5c)).toBe(2048n);
    expect(out[0x64]).toBe(0xff);
    expect([out[0x66], out[0x67]]).toEqual([0x90, 0x90]);
    expect(out.subarray(0x1b8, 0x1fe).every((b) => b === 0xab)).toBe(true);
    expect(out.subarray(3, 0x5a).every((b) => b === 0)).toBe(true);
    expect(out[0]).toBe(0xcc);
  });

  it('writes the blocklist of a contiguous core image and refuses one that does not fit', () => {
    const core = Buffer.alloc(512 * 60 + 100, 1);
    const out = patchCoreImg(core, 2048, 2048);
    expect(out.length).toBe(512 * 61);
    expect(out.readBigUInt64LE(500)).toBe(2049n);
    expect(out.readUInt16LE(508)).toBe(60);
    expect(out.readUInt16LE(510)).toBe(0x820);
    expect(out.subarray(488, 500).every((b) => b === 0)).toBe(true);
    expect(() => patchCoreImg(core, 2048, 8)).toThrow(
      'GRUB core image needs 61 sectors; the bios_grub partition has 8',
    );
  });
});
