/**
 * What fakeroot recorded about a tree unpacked without root: the owners, modes and device numbers its state
 * file (`fakeroot -s`) keeps per inode, for readers that do not run under fakeroot themselves (the xfs
 * protofile is written by this process, which sees the unpacking user as every file's owner).
 */
import { readFileSync } from 'node:fs';

export interface FakedStat {
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
}

/** Key of an inode in {@link readFakerootState}'s map. */
export const inodeKey = (dev: number | bigint, ino: number | bigint): string => `${dev}:${ino}`;

const LINE = /^dev=([0-9a-f]+),ino=(\d+),mode=([0-7]+),uid=(\d+),gid=(\d+),nlink=\d+,rdev=(\d+)$/;

/**
 * The state file's records by inode; an empty map when the file is missing or empty (a run as root).
 * @throws Error naming the line a record cannot be read from.
 */
export function readFakerootState(file: string): Map<string, FakedStat> {
  const out = new Map<string, FakedStat>();
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return out;
  }
  text.split('\n').forEach((line, n) => {
    if (!line) return;
    const m = LINE.exec(line);
    if (!m)
      throw new Error(`fakeroot state ${file}:${n + 1}: not a record: ${JSON.stringify(line.slice(0, 80))}`);
    out.set(inodeKey(Number.parseInt(m[1]!, 16), Number(m[2])), {
      mode: Number.parseInt(m[3]!, 8),
      uid: Number(m[4]),
      gid: Number(m[5]),
      rdev: Number(m[6]),
    });
  });
  return out;
}
