/**
 * Where the metadata goes once the data is written: after the data, cluster-aligned, the L2 tables, the L1
 * table, the refcount table and the refcount blocks (which count themselves, so their number is found by
 * iterating). Pure: returns the bytes to write and the header that points at them.
 */
import {
  CLUSTER_SIZE,
  type CompressionType,
  ENTRIES_PER_TABLE,
  encodeHeader,
  l1Entry,
  REFCOUNTS_PER_BLOCK,
} from './format.js';
import type { Refcounts } from './refcounts.js';

export interface MetadataInput {
  virtualSize: number;
  compression: CompressionType;
  /** First byte after the data (the data starts at cluster 1; cluster 0 holds the header). */
  dataEnd: number;
  /** Filled L2 tables by L1 index; indexes with none stay unallocated. */
  l2Tables: Map<number, Buffer>;
  /** References to the data's host clusters; metadata clusters are added here. */
  refcounts: Refcounts;
}

export interface Piece {
  offset: number;
  bytes: Buffer;
}

export interface MetadataPlan {
  /** Header first, then the tables; each piece lands at its offset. */
  pieces: Piece[];
  /** The image file's length. */
  fileSize: number;
}

const clustersFor = (bytes: number): number => Math.ceil(bytes / CLUSTER_SIZE);

/** Entries of the L1 table: one per L2 table's worth of guest clusters. */
export function l1EntriesFor(virtualSize: number): number {
  return Math.ceil(virtualSize / CLUSTER_SIZE / ENTRIES_PER_TABLE);
}

/** @throws RangeError when an L2 table lies outside the L1 table's range. */
export function planMetadata(m: MetadataInput): MetadataPlan {
  const l1Entries = l1EntriesFor(m.virtualSize);
  const l1Clusters = Math.max(1, clustersFor(l1Entries * 8));
  const first = clustersFor(Math.max(m.dataEnd, CLUSTER_SIZE));
  const indexes = [...m.l2Tables.keys()].sort((a, b) => a - b);
  const l2At = first;
  const l1At = l2At + indexes.length;
  const tableAt = l1At + l1Clusters;
  // The refcount blocks cover every host cluster, themselves and the refcount table included.
  let blocks = 1;
  let tableClusters = 1;
  for (;;) {
    const total = tableAt + tableClusters + blocks;
    const needBlocks = Math.ceil(total / REFCOUNTS_PER_BLOCK);
    const needTable = Math.max(1, clustersFor(needBlocks * 8));
    if (needBlocks === blocks && needTable === tableClusters) break;
    blocks = needBlocks;
    tableClusters = needTable;
  }
  const blocksAt = tableAt + tableClusters;
  const fileClusters = blocksAt + blocks;

  const refs = m.refcounts;
  refs.add(0);
  for (let c = l2At; c < fileClusters; c++) refs.add(c);

  const pieces: Piece[] = [];
  const l1 = Buffer.alloc(l1Clusters * CLUSTER_SIZE);
  indexes.forEach((index, k) => {
    if (index >= l1Entries) throw new RangeError(`qcow2: L2 table ${index} past the L1 table`);
    const at = (l2At + k) * CLUSTER_SIZE;
    pieces.push({ offset: at, bytes: m.l2Tables.get(index) as Buffer });
    l1.writeBigUInt64BE(l1Entry(at), index * 8);
  });
  pieces.push({ offset: l1At * CLUSTER_SIZE, bytes: l1 });

  const table = Buffer.alloc(tableClusters * CLUSTER_SIZE);
  const blockBytes = Buffer.alloc(blocks * CLUSTER_SIZE);
  for (let b = 0; b < blocks; b++) table.writeBigUInt64BE(BigInt((blocksAt + b) * CLUSTER_SIZE), b * 8);
  for (let c = 0; c < refs.clusters; c++) {
    const n = refs.get(c);
    if (n) blockBytes.writeUInt16BE(n, c * 2);
  }
  pieces.push({ offset: tableAt * CLUSTER_SIZE, bytes: table });
  pieces.push({ offset: blocksAt * CLUSTER_SIZE, bytes: blockBytes });

  const header = encodeHeader({
    virtualSize: m.virtualSize,
    l1Entries,
    l1Offset: l1At * CLUSTER_SIZE,
    refcountTableOffset: tableAt * CLUSTER_SIZE,
    refcountTableClusters: tableClusters,
    compression: m.compression,
  });
  pieces.unshift({ offset: 0, bytes: header });
  return { pieces, fileSize: fileClusters * CLUSTER_SIZE };
}
