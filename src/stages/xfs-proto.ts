/**
 * A mkfs.xfs protofile describing a folder, so xfs is filled without mounting. The format (inherited from
 * the Unix mkfs "proto" files): two header lines, the root's mode/uid/gid, then per entry
 * `name mode uid gid [source|target|major minor]`, `$` closing each directory. Modes are a type letter
 * (`-dlbcp`), setuid (`u`/`-`), setgid (`g`/`-`) and three octal digits.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type FakedStat, inodeKey } from './fakeroot-state.js';

export interface ProtoResult {
  text: string;
  /** Paths that a protofile cannot express (names with whitespace): left out, reported. */
  skipped: string[];
}

function modeString(typeChar: string, mode: number): string {
  const suid = mode & 0o4000 ? 'u' : '-';
  const sgid = mode & 0o2000 ? 'g' : '-';
  // The sticky bit has no place in the format; xfs_protofile drops it too.
  return `${typeChar}${suid}${sgid}${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

type Meta = Pick<Stats, 'mode' | 'uid' | 'gid' | 'rdev'> & {
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
  isBlockDevice(): boolean;
  isCharacterDevice(): boolean;
  isFIFO(): boolean;
};

const S_IFMT = 0o170000;
const typeIs = (mode: number, t: number) => (mode & S_IFMT) === t;

/** `st` with what fakeroot recorded for its inode (owner, mode and type, device numbers), if anything. */
function withFaked(st: Stats, faked: ReadonlyMap<string, FakedStat>): Meta {
  const f = faked.get(inodeKey(st.dev, st.ino));
  if (!f) return st;
  return {
    ...f,
    isDirectory: () => typeIs(f.mode, 0o040000),
    isFile: () => typeIs(f.mode, 0o100000),
    isSymbolicLink: () => typeIs(f.mode, 0o120000),
    isBlockDevice: () => typeIs(f.mode, 0o060000),
    isCharacterDevice: () => typeIs(f.mode, 0o020000),
    isFIFO: () => typeIs(f.mode, 0o010000),
  };
}

/**
 * Builds the protofile for `dir` (read with lstat, owners as stored; when the tree was unpacked under
 * fakeroot, `faked` holds what its state file recorded, which wins).
 */
export async function xfsProtofile(
  dir: string,
  faked: ReadonlyMap<string, FakedStat> = new Map(),
): Promise<ProtoResult> {
  const out: string[] = ['/dev/null', '0 0'];
  const skipped: string[] = [];
  const rootSt = withFaked(await lstat(dir), faked);
  out.push(`${modeString('d', rootSt.mode)} ${rootSt.uid} ${rootSt.gid}`);
  async function walk(d: string, depth: number): Promise<void> {
    const names = (await readdir(d)).sort();
    const pad = ' '.repeat(depth);
    for (const name of names) {
      const p = join(d, name);
      if (/\s/.test(name) || name.length === 0) {
        skipped.push(p);
        continue;
      }
      const st = withFaked(await lstat(p), faked);
      const ids = `${st.uid} ${st.gid}`;
      if (st.isDirectory()) {
        out.push(`${pad}${name} ${modeString('d', st.mode)} ${ids}`);
        await walk(p, depth + 1);
        out.push(`${pad}$`);
      } else if (st.isFile()) {
        if (/\s/.test(p)) {
          skipped.push(p);
          continue;
        }
        out.push(`${pad}${name} ${modeString('-', st.mode)} ${ids} ${p}`);
      } else if (st.isSymbolicLink()) {
        const target = await readlink(p);
        if (/\s/.test(target) || target.length === 0) {
          skipped.push(p);
          continue;
        }
        out.push(`${pad}${name} ${modeString('l', st.mode)} ${ids} ${target}`);
      } else if (st.isBlockDevice() || st.isCharacterDevice()) {
        const major = Math.floor(st.rdev / 256) & 0xfff;
        const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
        out.push(
          `${pad}${name} ${modeString(st.isBlockDevice() ? 'b' : 'c', st.mode)} ${ids} ${major} ${minor}`,
        );
      } else if (st.isFIFO()) {
        out.push(`${pad}${name} ${modeString('p', st.mode)} ${ids}`);
      } else skipped.push(p);
    }
  }
  await walk(dir, 1);
  out.push('$', '');
  return { text: out.join('\n'), skipped };
}
