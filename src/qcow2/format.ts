/**
 * qcow2 version 3 on-disk encodings (qemu's docs/interop/qcow2.txt): the header, L1/L2 entries and the
 * compressed cluster descriptor. All numbers are big-endian.
 */

export const QCOW2_MAGIC = 0x514649fb;
/** 64 KiB clusters, qemu's default. */
export const CLUSTER_BITS = 16;
export const CLUSTER_SIZE = 1 << CLUSTER_BITS;
/** 16-bit refcounts, qemu's default. */
export const REFCOUNT_ORDER = 4;
/** Header up to and including the compression type byte and its padding. */
export const HEADER_LENGTH = 112;
export const SECTOR = 512;

/** Bit 63 of L1 and standard L2 entries: the cluster's refcount is exactly 1. */
const COPIED = 1n << 63n;
/** Bit 62 of an L2 entry: the cluster is compressed. */
const COMPRESSED = 1n << 62n;
/** Incompatible feature bit 3: the compression_type field is not zlib. */
const INCOMPAT_COMPRESSION_TYPE = 1n << 3n;
/** Bits 9-55 of an L1 or standard L2 entry hold a cluster-aligned host offset. */
const OFFSET_MASK = 0x00ff_ffff_ffff_fe00n;

export type CompressionType = 'zlib' | 'zstd';

export interface HeaderFields {
  virtualSize: number;
  l1Entries: number;
  l1Offset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  compression: CompressionType;
}

function aligned(offset: number, what: string): bigint {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % CLUSTER_SIZE !== 0)
    throw new RangeError(`qcow2: ${what} ${offset} is not a cluster-aligned offset`);
  return BigInt(offset);
}

/**
 * The header as it goes into cluster 0; the bytes after it (zeros) end the header extension area.
 * zstd sets incompatible feature bit 3, so readers that do not know the field refuse the image.
 */
export function encodeHeader(h: HeaderFields): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH);
  b.writeUInt32BE(QCOW2_MAGIC, 0);
  b.writeUInt32BE(3, 4);
  // 8: backing file offset, 16: its length (none)
  b.writeUInt32BE(CLUSTER_BITS, 20);
  b.writeBigUInt64BE(BigInt(h.virtualSize), 24);
  // 32: crypt method (none)
  b.writeUInt32BE(h.l1Entries, 36);
  b.writeBigUInt64BE(aligned(h.l1Offset, 'L1 table'), 40);
  b.writeBigUInt64BE(aligned(h.refcountTableOffset, 'refcount table'), 48);
  b.writeUInt32BE(h.refcountTableClusters, 56);
  // 60: snapshot count, 64: snapshot table offset (none)
  b.writeBigUInt64BE(h.compression === 'zstd' ? INCOMPAT_COMPRESSION_TYPE : 0n, 72);
  // 80: compatible features, 88: autoclear features (none)
  b.writeUInt32BE(REFCOUNT_ORDER, 96);
  b.writeUInt32BE(HEADER_LENGTH, 100);
  b.writeUInt8(h.compression === 'zstd' ? 1 : 0, 104);
  return b;
}

/** L1 entry: the L2 table's offset, marked COPIED (each L2 table is referenced once). */
export function l1Entry(l2Offset: number): bigint {
  return (aligned(l2Offset, 'L2 table') & OFFSET_MASK) | COPIED;
}

/** Standard (uncompressed) L2 entry of a cluster referenced once. */
export function standardEntry(hostOffset: number): bigint {
  return (aligned(hostOffset, 'data cluster') & OFFSET_MASK) | COPIED;
}

/**
 * Compressed cluster descriptor: bit 62, the byte offset of the data in bits 0..x-1 and, above them up to
 * bit 61, how many 512-byte sectors the data reaches past the one holding its first byte
 * (x = 62 - (cluster_bits - 8)). COPIED is never set on compressed clusters.
 */
export function compressedEntry(hostOffset: number, length: number): bigint {
  const x = 62 - (CLUSTER_BITS - 8);
  if (!Number.isSafeInteger(hostOffset) || hostOffset < 0 || hostOffset >= 2 ** x)
    throw new RangeError(`qcow2: compressed data offset ${hostOffset} out of range`);
  if (!Number.isInteger(length) || length < 1 || length >= CLUSTER_SIZE)
    throw new RangeError(`qcow2: compressed length ${length} out of range`);
  const extraSectors = Math.floor((hostOffset + length - 1) / SECTOR) - Math.floor(hostOffset / SECTOR);
  return COMPRESSED | (BigInt(extraSectors) << BigInt(x)) | BigInt(hostOffset);
}

/** Entries in one L2 table (or one cluster of the L1 or refcount table): 8 bytes each. */
export const ENTRIES_PER_TABLE = CLUSTER_SIZE / 8;
/** Refcounts in one refcount block. */
export const REFCOUNTS_PER_BLOCK = (CLUSTER_SIZE * 8) / (1 << REFCOUNT_ORDER);
export const MAX_REFCOUNT = (1 << (1 << REFCOUNT_ORDER)) - 1;
