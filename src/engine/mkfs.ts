/**
 * Making filesystems in plain files, filled from a folder, with UUIDs we choose. No mount, no loop device:
 * ext4 from `mke2fs -d`, vfat from `mkfs.vfat` + `mcopy`, xfs from `mkfs.xfs -p PROTOFILE`. ext4 and vfat are
 * written straight into the disk image at their partition's offset (no partition file, no copy).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { run } from './exec.js';
import { asRoot } from './tar-extract.js';

const MiB = 1024 * 1024;

export interface MkfsCommon {
  /** File to write; its size must already be set (truncate). */
  file: string;
  /**
   * Where the filesystem starts in `file` and how long it is, in bytes (a partial last KiB is left unused): a partition of a
   * disk image. Absent: the whole file.
   */
  at?: { offset: number; bytes: number };
  uuid: string;
  label?: string;
  /** Seconds since the epoch for timestamps the tool writes on its own. */
  sourceDateEpoch: number;
  /**
   * fakeroot state of the tree, used when not root: only read, so the filesystems of a disk may be made side
   * by side.
   */
  fakerootState: string;
  logFile?: string;
  signal?: AbortSignal;
}

function common(o: MkfsCommon) {
  return {
    ...(o.logFile ? { logFile: o.logFile } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    captureStdout: false,
  };
}

/**
 * An empty ext4 (the addon fills it: stages/ext4-fill.ts), in a file whose bytes at `at` are all zero (fresh
 * from truncate): mke2fs then skips zeroing its journal and inode tables and marks them zeroed, so the kernel
 * does not zero them at first mount.
 * @throws BuildError
 */
export async function mkExt4(o: MkfsCommon): Promise<void> {
  const args = [
    '-q',
    '-F',
    '-t',
    'ext4',
    '-U',
    o.uuid,
    '-E',
    `hash_seed=${o.uuid},root_owner=0:0,nodiscard,assume_storage_prezeroed=1${o.at ? `,offset=${o.at.offset}` : ''}`,
  ];
  if (o.label) args.push('-L', o.label);
  args.push(o.file);
  // With an offset mke2fs would size the filesystem to the rest of the file: the partition's size is given.
  if (o.at) args.push(`${Math.floor(o.at.bytes / 1024)}k`);
  const [cmd, argv] = asRoot('mke2fs', args, o.fakerootState, 'read');
  await run(cmd, argv, {
    ...common(o),
    env: { ...process.env, E2FSPROGS_FAKE_TIME: String(o.sourceDateEpoch) },
  });
}

/**
 * Runs a Node.js program of ours under fakeroot with the tree's state, read and not written back (the ext4 fill
 * of a cut without root: its stat calls then see the recorded owners and device numbers).
 * @returns its stdout.
 * @throws BuildError with its stderr when it fails.
 */
export async function runUnderFakeroot(
  script: string,
  args: readonly string[],
  o: { fakerootState: string; logFile?: string; signal?: AbortSignal },
): Promise<string> {
  const [cmd, argv] = asRoot(process.execPath, [script, ...args], o.fakerootState, 'read');
  const r = await run(cmd, argv, {
    ...(o.logFile ? { logFile: o.logFile } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return r.stdout;
}

/** vfat (FAT32 when large enough) filled from `dir`; `uuid` is the 8-hex-digit volume id. @throws BuildError */
export async function mkVfat(o: MkfsCommon & { dir: string }): Promise<void> {
  // Not --invariant: it replaces the volume id we pass with a constant.
  const args = ['-i', o.uuid.replace('-', '')];
  if (o.label) args.push('-n', o.label);
  if (o.at) {
    // mkfs.fat picks FAT32 by the size of the whole file, not of the partition: the FAT type is chosen here
    // as it would pick for a device of the partition's size (FAT32 from 512 MiB, FAT12 below 16 MiB).
    const fat = o.at.bytes >= 512 * MiB ? '32' : o.at.bytes < 16 * MiB ? '12' : '16';
    args.push('-F', fat, '--offset', String(o.at.offset / 512));
  }
  args.push(o.file);
  if (o.at) args.push(String(Math.floor(o.at.bytes / 1024)));
  await run('mkfs.vfat', args, {
    ...common(o),
    env: { ...process.env, SOURCE_DATE_EPOCH: String(o.sourceDateEpoch) },
  });
  const entries = await readdir(o.dir);
  if (entries.length === 0) return;
  const image = o.at ? `${o.file}@@${o.at.offset}` : o.file;
  await run('mcopy', ['-s', '-p', '-m', '-i', image, ...entries.sort().map((e) => join(o.dir, e)), '::/'], {
    ...common(o),
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1', SOURCE_DATE_EPOCH: String(o.sourceDateEpoch) },
  });
}

/** xfs filled from a protofile (see stages/xfs-proto). @throws BuildError */
export async function mkXfs(o: MkfsCommon & { protofile: string }): Promise<void> {
  const args = ['-q', '-f', '-m', `uuid=${o.uuid}`, '-p', o.protofile];
  if (o.label) args.push('-L', o.label);
  args.push(o.file);
  const [cmd, argv] = asRoot('mkfs.xfs', args, o.fakerootState, 'read');
  await run(cmd, argv, { ...common(o), env: { ...process.env, ...frozenClock(o.sourceDateEpoch) } });
}

/** Where Debian's libfaketime package puts the library (amd64, arm64). */
const LIBFAKETIME = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
];

/**
 * Environment freezing the clock at `epoch` through libfaketime: mkfs.xfs stamps every inode of a protofile
 * with the current time and has no setting for it, so a reproducible xfs needs a frozen clock.
 * @throws BuildError when libfaketime is not installed.
 */
function frozenClock(epoch: number): NodeJS.ProcessEnv {
  const lib = LIBFAKETIME.find((f) => existsSync(f));
  if (!lib)
    throw new BuildError(
      `mkfs.xfs: libfaketime is needed for a reproducible xfs (install the Debian package faketime; looked for ${LIBFAKETIME.join(', ')})`,
    );
  const at = new Date(epoch * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return { LD_PRELOAD: lib, FAKETIME: at, TZ: 'UTC' };
}

/** A file's content from an ext4 image (at `offset` bytes into `image`), read by debugfs (for tests). */
export async function ext4Cat(image: string, path: string, offset = 0): Promise<string> {
  const r = await run('debugfs', ['-R', `cat ${path}`, offset ? `${image}?offset=${offset}` : image]);
  return r.stdout;
}

/** Filesystem facts from blkid on a plain file: TYPE, UUID, LABEL. */
export async function probeFilesystem(image: string, offset = 0): Promise<Record<string, string>> {
  const r = await run('blkid', ['-p', '-o', 'export', '-O', String(offset), image], { okCodes: [0, 2] });
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** True when `path` exists in an ext4 image (debugfs, an independent reader for tests). */
export async function ext4Exists(image: string, path: string, offset = 0): Promise<boolean> {
  const r = await run('debugfs', ['-R', `stat ${path}`, offset ? `${image}?offset=${offset}` : image]);
  return !/not found/i.test(r.stderr);
}
