/**
 * BIOS boot code placed by hand, because grub-bios-setup guesses the root device from a folder and fails on
 * an image file. Two fields make it work: the MBR's pointer to the first sector of core.img, and the
 * blocklist in core.img's first sector (diskboot) that says where the rest of core.img lies. Offsets are
 * GRUB's i386-pc boot sector layout.
 */
import { SECTOR } from './qcow-layout.js';

const BPB_START = 0x03;
const BPB_END = 0x5a;
const KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE = 0x64;
const DRIVE_CHECK = 0x66;
/** Bytes of boot code before the disk signature and partition table. */
const CODE_END = 0x1b8;
/** Real-mode segment core.img's second sector is loaded to (0x800 + one sector). */
const CORE_SEGMENT = 0x820;
const BLOCKLIST_SIZE = 12;

/**
 * Returns the new first sector: `bootImg`'s code with the kernel sector set to `coreSector`, over `mbr`'s
 * BPB area, disk signature and (protective) partition table.
 */
export function patchMbr(mbr: Buffer, bootImg: Buffer, coreSector: number): Buffer {
  if (bootImg.length !== SECTOR) throw new Error(`boot.img is ${bootImg.length} bytes, expected 512`);
  const out = Buffer.from(mbr);
  bootImg.copy(out, 0, 0, BPB_START);
  bootImg.copy(out, BPB_END, BPB_END, CODE_END);
  out.writeBigUInt64LE(BigInt(coreSector), KERNEL_SECTOR);
  out[BOOT_DRIVE] = 0xff;
  // Hard disk: skip the check that trusts the BIOS's drive number (some BIOSes pass 0 for a disk).
  out[DRIVE_CHECK] = 0x90;
  out[DRIVE_CHECK + 1] = 0x90;
  return out;
}

/**
 * Fills core.img's blocklist for a core stored contiguously from `coreSector`; returns a patched copy.
 * @throws Error when core.img does not fit in `maxSectors` (the bios_grub partition).
 */
export function patchCoreImg(core: Buffer, coreSector: number, maxSectors: number): Buffer {
  const sectors = Math.ceil(core.length / SECTOR);
  if (sectors > maxSectors)
    throw new Error(`GRUB core image needs ${sectors} sectors; the bios_grub partition has ${maxSectors}`);
  const out = Buffer.alloc(sectors * SECTOR);
  core.copy(out);
  const first = SECTOR - BLOCKLIST_SIZE;
  out.writeBigUInt64LE(BigInt(coreSector + 1), first);
  out.writeUInt16LE(sectors - 1, first + 8);
  out.writeUInt16LE(CORE_SEGMENT, first + 10);
  // The entry below is the terminator.
  out.fill(0, first - BLOCKLIST_SIZE, first);
  return out;
}
