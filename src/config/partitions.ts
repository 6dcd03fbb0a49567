/**
 * Disk sizes and the partition table: `qcow_capacity` in qemu-img's units, `part_start`/`part_end` in
 * parted's units (MiB, GiB, % of the disk, …), and the checks a table must pass before any disk is made.
 */

const BINARY: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

/**
 * `qcow_capacity` as qemu-img reads it: a number of bytes, or a number with K, M, G, T (powers of 1024,
 * optionally followed by `iB` or `B`).
 * @returns bytes, or a message saying what was expected.
 */
export function parseCapacity(v: unknown): number | string {
  const raw = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  const m = raw === undefined ? null : /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?$/i.exec(raw);
  if (!m) return `expected a size such as 19G or 8192M, got ${JSON.stringify(v)}`;
  const bytes = Math.floor(Number(m[1]) * BINARY[m[2]!.toUpperCase()]!);
  if (bytes < 2 ** 20) return `a disk of ${bytes} bytes is too small; give at least 1M`;
  return bytes;
}

const PART_UNITS: Record<string, number> = {
  B: 1,
  S: 512,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
};

/**
 * One partition boundary as parted reads it: `1MiB`, `5.5GiB`, `512s` (sectors), `100%` of the disk.
 * A bare number is refused: parted would read it as MB, which is rarely what was meant.
 * @returns bytes from the start of the disk, or a message saying what was expected.
 */
export function parseBoundary(v: unknown, capacity: number): number | string {
  const raw = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (raw === undefined) return `expected a size such as 1MiB, 2GiB or 100%, got ${JSON.stringify(v)}`;
  if (/^\d+(?:\.\d+)?$/.test(raw)) {
    return `"${raw}" has no unit; write ${raw}MiB, ${raw}GiB or a percentage of the disk`;
  }
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(raw);
  if (pct) {
    const p = Number(pct[1]);
    if (p > 100) return `${raw} is more than the whole disk`;
    return Math.floor((capacity * p) / 100);
  }
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(raw);
  const unit = m ? PART_UNITS[m[2]!.toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    return `expected a size such as 1MiB, 2GiB, 4096s or 100%, got ${JSON.stringify(v)} (units: B, s, KiB, MiB, GiB, TiB, kB, MB, GB, TB, %)`;
  }
  return Math.floor(Number(m[1]) * unit);
}

/** What the checks need of each partition. */
export interface Extent {
  mount: string;
  start_bytes: number;
  end_bytes: number;
  flags: readonly string[];
  filesystem?: { type: string };
}

export interface PartitionProblem {
  /** Index in the list. */
  index: number;
  /** Key inside the partition the problem is about, e.g. `part_end`. */
  field: string;
  message: string;
}

/** Entries of a standard GPT partition table. */
export const GPT_MAX_PARTITIONS = 128;

/** The primary GPT header and table occupy the first 34 sectors. */
const GPT_HEAD_BYTES = 34 * 512;

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(n % 2 ** 20 === 0 ? 0 : 2)}MiB`;
}

/**
 * Checks a partition table against the disk: at most 128 entries, each partition ends after it starts, lies inside the disk and
 * after the GPT header, no two overlap, at most one bios_grub and one esp partition (the esp formatted vfat),
 * exactly one root (`/`) and no mount point used twice.
 */
export function checkPartitions(parts: readonly Extent[], capacity: number): PartitionProblem[] {
  const out: PartitionProblem[] = [];
  if (parts.length > GPT_MAX_PARTITIONS) {
    out.push({
      index: GPT_MAX_PARTITIONS,
      field: '',
      message: `${parts.length} partitions; a GPT table holds at most ${GPT_MAX_PARTITIONS}`,
    });
  }
  parts.forEach((p, index) => {
    if (p.end_bytes <= p.start_bytes) {
      out.push({
        index,
        field: 'part_end',
        message: `partition ends (${mib(p.end_bytes)}) before it starts (${mib(p.start_bytes)})`,
      });
    }
    if (p.start_bytes < GPT_HEAD_BYTES) {
      out.push({
        index,
        field: 'part_start',
        message: `partition starts inside the GPT header (first ${GPT_HEAD_BYTES} bytes); start at 1MiB or later`,
      });
    }
    if (p.end_bytes > capacity) {
      out.push({
        index,
        field: 'part_end',
        message: `partition ends at ${mib(p.end_bytes)}, beyond qcow_capacity (${mib(capacity)})`,
      });
    }
  });
  const order = parts.map((p, i) => ({ p, i })).sort((a, b) => a.p.start_bytes - b.p.start_bytes);
  for (let k = 1; k < order.length; k++) {
    const prev = order[k - 1]!;
    const cur = order[k]!;
    if (cur.p.start_bytes < prev.p.end_bytes && prev.p.end_bytes > prev.p.start_bytes) {
      out.push({
        index: cur.i,
        field: 'part_start',
        message: `partition ${cur.i} (${cur.p.mount}, from ${mib(cur.p.start_bytes)}) overlaps partition ${prev.i} (${prev.p.mount}, ${mib(prev.p.start_bytes)}–${mib(prev.p.end_bytes)})`,
      });
    }
  }
  for (const flag of ['bios_grub', 'esp']) {
    const withFlag = parts.map((p, i) => ({ p, i })).filter(({ p }) => p.flags.includes(flag));
    for (const extra of withFlag.slice(1)) {
      out.push({
        index: extra.i,
        field: 'flags',
        message: `more than one ${flag} partition (partition ${withFlag[0]!.i} has it already)`,
      });
    }
  }
  parts.forEach((p, index) => {
    if (p.flags.includes('esp') && p.filesystem?.type !== 'vfat') {
      out.push({ index, field: 'filesystem', message: 'the esp partition must have filesystem type vfat' });
    }
  });
  const seen = new Map<string, number>();
  parts.forEach((p, index) => {
    if (!p.mount.startsWith('/')) return;
    const first = seen.get(p.mount);
    if (first !== undefined) {
      out.push({
        index,
        field: 'mount',
        message: `mount point ${p.mount} is used by partition ${first} already`,
      });
    } else seen.set(p.mount, index);
  });
  if (!seen.has('/')) {
    out.push({ index: -1, field: '', message: 'no partition is mounted at /' });
  }
  return out;
}
