/**
 * The disk plan of one QCOW bundle, computed and checked before anything is written: GPT entries in
 * sectors, filesystem UUIDs derived from the build id, the fstab, and where each partition's files come from.
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import type { FilesystemType, Partition, QcowVars } from '../config/types.js';
import type { Diagnostic } from '../errors.js';

export const SECTOR = 512;
/** Sectors kept free at the end for the backup GPT (header + 128 entries). */
const GPT_TAIL_SECTORS = 33;
const FIRST_USABLE_LBA = 34;

const TYPE_GUID = {
  bios_grub: '21686148-6449-6E6F-744E-656564454649',
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

export interface PlannedPartition {
  /** 1-based GPT number: the order of the list in qcow-vars.yaml. */
  number: number;
  mount: string;
  /** From mount_order: fstab lists filesystems in this order. */
  mountOrder: number;
  startSector: number;
  sectors: number;
  typeGuid: string;
  partUuid: string;
  flags: Partition['flags'];
  fs?: {
    type: FilesystemType;
    /** As written in fstab and passed to the mkfs tool (vfat: `XXXX-XXXX`). */
    uuid: string;
    options: string;
    dump: number;
    fsck: number;
  };
}

export interface DiskPlan {
  capacityBytes: number;
  diskGuid: string;
  partitions: PlannedPartition[];
  root: PlannedPartition;
  /** The partition holding /boot (a separate /boot, else root). */
  boot: PlannedPartition;
  esp: PlannedPartition;
  biosGrub: PlannedPartition;
  sfdiskScript: string;
  fstab: string;
}

/** A UUID derived from `seed`: same build inputs, same UUIDs. */
export function derivedUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x40;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function vfatId(seed: string): string {
  const x = createHash('sha256').update(seed).digest('hex').slice(0, 8).toUpperCase();
  return `${x.slice(0, 4)}-${x.slice(4)}`;
}

/** True when mount point `inner` lies inside `outer`. */
export function mountContains(outer: string, inner: string): boolean {
  if (outer === inner) return false;
  if (outer === '/') return inner.startsWith('/');
  return inner.startsWith(`${outer}/`);
}

/** Checks one partition of the layout and places it on the disk; problems go to `ctx.err`. */
function planPartition(
  p: QcowVars['partitions'][number],
  i: number,
  ctx: {
    q: QcowVars;
    seed: string;
    lastUsable: number;
    mounts: Map<string, number>;
    err: (key: string, message: string) => void;
  },
): PlannedPartition {
  const { q, seed, lastUsable, mounts, err } = ctx;
  const k = `partitions[${i}]`;
  if (p.start_bytes % SECTOR !== 0) err(`${k}.part_start`, `${p.part_start} is not a multiple of 512 bytes`);
  if (p.end_bytes % SECTOR !== 0) err(`${k}.part_end`, `${p.part_end} is not a multiple of 512 bytes`);
  const start = Math.ceil(p.start_bytes / SECTOR);
  // "100%" ends where the backup GPT starts; parted does the same.
  const end = Math.min(Math.floor(p.end_bytes / SECTOR), lastUsable + 1);
  if (start < FIRST_USABLE_LBA)
    err(`${k}.part_start`, `${p.part_start} overlaps the GPT header; start at 1MiB or later`);
  if (p.end_bytes > q.capacity_bytes)
    err(`${k}.part_end`, `${p.part_end} lies beyond qcow_capacity ${q.qcow_capacity}`);
  if (end <= start) err(`${k}.part_end`, `${p.part_end} must be after part_start ${p.part_start}`);
  const isBios = p.flags.includes('bios_grub');
  const isEsp = p.flags.includes('esp');
  if (p.filesystem) {
    if (!p.mount.startsWith('/'))
      err(`${k}.mount`, `expected an absolute mount point, got ${JSON.stringify(p.mount)}`);
    if (mounts.has(p.mount))
      err(`${k}.mount`, `${p.mount} is also mounted by partitions[${mounts.get(p.mount)}]`);
    mounts.set(p.mount, i);
    if (isEsp && p.filesystem.type !== 'vfat') err(`${k}.filesystem.type`, 'the esp partition must be vfat');
    if (p.filesystem.type === 'xfs' && (end - start) * SECTOR < 300 * 1024 * 1024)
      err(`${k}.part_end`, 'xfs needs at least 300MiB');
  } else if (isEsp) err(`${k}.filesystem`, 'the esp partition needs a vfat filesystem');
  if (isBios && p.filesystem) err(`${k}.filesystem`, 'a bios_grub partition holds no filesystem');
  const seedK = `${seed}:${i}:${p.mount}`;
  const type = p.filesystem?.type;
  return {
    number: i + 1,
    mount: p.mount,
    mountOrder: p.mount_order,
    startSector: start,
    sectors: Math.max(0, end - start),
    typeGuid: isBios ? TYPE_GUID.bios_grub : isEsp ? TYPE_GUID.esp : TYPE_GUID.linux,
    partUuid: derivedUuid(`${seedK}:part`),
    flags: p.flags,
    ...(p.filesystem && type
      ? {
          fs: {
            type,
            uuid: type === 'vfat' ? vfatId(`${seedK}:fs`) : derivedUuid(`${seedK}:fs`),
            options: p.filesystem.fstab.options,
            dump: p.filesystem.fstab.dump,
            fsck: p.filesystem.fstab.fsck,
          },
        }
      : {}),
  };
}

/**
 * Checks the layout and turns it into sectors, UUIDs, an sfdisk script and an fstab. The UUIDs derive from
 * `seed` and each partition's number and mount point.
 * @returns the plan, or every problem found (file `qcowVarsFile`, key `partitions[i].…`).
 */
export function planDisk(
  q: QcowVars,
  seed: string,
  qcowVarsFile: string,
): { plan: DiskPlan; errors: [] } | { plan: null; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const err = (key: string, message: string) =>
    errors.push({ severity: 'error', file: qcowVarsFile, key, message });
  const totalSectors = Math.floor(q.capacity_bytes / SECTOR);
  const lastUsable = totalSectors - GPT_TAIL_SECTORS - 1;
  if (!Number.isFinite(q.capacity_bytes) || q.capacity_bytes < 16 * 1024 * 1024)
    err('qcow_capacity', `expected a disk size of at least 16MiB, got ${JSON.stringify(q.qcow_capacity)}`);

  const planned: PlannedPartition[] = [];
  const mounts = new Map<string, number>();
  q.partitions.forEach((p, i) => {
    planned.push(planPartition(p, i, { q, seed, lastUsable, mounts, err }));
  });
  const sorted = [...planned].sort((a, b) => a.startSector - b.startSector);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as PlannedPartition;
    const b = sorted[i] as PlannedPartition;
    if (b.startSector < a.startSector + a.sectors)
      err(
        `partitions[${b.number - 1}].part_start`,
        `overlaps partitions[${a.number - 1}] (${q.partitions[a.number - 1]?.part_start}–${q.partitions[a.number - 1]?.part_end})`,
      );
  }
  const root = planned.find((p) => p.fs && p.mount === '/');
  const esp = planned.find((p) => p.flags.includes('esp'));
  const biosGrub = planned.find((p) => p.flags.includes('bios_grub'));
  if (!root) err('partitions', 'no partition is mounted at /');
  if (!esp) err('partitions', 'no partition has the esp flag (needed for UEFI boot)');
  if (!biosGrub) err('partitions', 'no partition has the bios_grub flag (needed for BIOS boot)');
  if (planned.filter((p) => p.flags.includes('esp')).length > 1)
    err('partitions', 'more than one esp partition');
  if (planned.filter((p) => p.flags.includes('bios_grub')).length > 1)
    err('partitions', 'more than one bios_grub partition');
  if (errors.length > 0 || !root || !esp || !biosGrub) return { plan: null, errors };

  const boot = [...planned]
    .filter((p) => p.fs && (p.mount === '/boot' || mountContains(p.mount, '/boot')))
    .sort((a, b) => b.mount.length - a.mount.length)[0] as PlannedPartition;
  const diskGuid = derivedUuid(`${seed}:disk`);
  const sfdiskScript = [
    'label: gpt',
    `label-id: ${diskGuid}`,
    'unit: sectors',
    'sector-size: 512',
    '',
    ...planned.map(
      (p) =>
        `start=${p.startSector}, size=${p.sectors}, type=${p.typeGuid}, uuid=${p.partUuid}, name="${partName(p)}"`,
    ),
    '',
  ].join('\n');
  const fstab = fstabText(planned);
  return {
    plan: {
      capacityBytes: totalSectors * SECTOR,
      diskGuid,
      partitions: planned,
      root,
      boot,
      esp,
      biosGrub,
      sfdiskScript,
      fstab,
    },
    errors: [],
  };
}

function partName(p: PlannedPartition): string {
  if (p.flags.includes('bios_grub')) return 'bios_grub';
  if (p.flags.includes('esp')) return 'esp';
  return p.mount === '/' ? 'root' : p.mount.replace(/^\//, '').replace(/\//g, '-');
}

/** The fstab in mount order (the order of `mount_order`, as the original mounts them). */
export function fstabText(parts: readonly PlannedPartition[]): string {
  const byOrder = parts
    .filter((p) => p.fs)
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.mountOrder - b.p.mountOrder || a.i - b.i);
  const lines = ['# <file system> <mount point> <type> <options> <dump> <pass>'];
  for (const { p } of byOrder) {
    const fs = p.fs as NonNullable<PlannedPartition['fs']>;
    lines.push(`UUID=${fs.uuid} ${p.mount} ${fs.type} ${fs.options} ${fs.dump} ${fs.fsck}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Filesystem partitions deepest mount first: the order in which their subtrees are moved out of the
 * extracted tree, so each filesystem gets only its own files.
 */
export function extractionOrder(plan: DiskPlan): PlannedPartition[] {
  return plan.partitions
    .filter((p) => p.fs && p.mount !== '/')
    .sort((a, b) => b.mount.split('/').length - a.mount.split('/').length || b.mount.localeCompare(a.mount));
}
