/**
 * Unpacking a tar stream into a folder with GNU tar. As root, owners, modes, device nodes and xattrs are
 * kept; as another user the run happens under `fakeroot` with a state file that later `mke2fs`/`mkfs.xfs`
 * runs load, so the product never needs root (xattrs are then the caller's: they are not unpacked).
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BuildError } from '../errors.js';

/** True when the process must use fakeroot to keep owners. */
export function needsFakeroot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() !== 0;
}

/**
 * How a command under fakeroot uses the tree's state file: `saved` for one that changes owners or makes files
 * (the file is loaded and written back), `read` for one that only reads the tree. Readers of one state file may
 * run side by side; a saving run may not run beside anything else that loads the same file (fakeroot rewrites
 * it in place as it exits, and a run loading it meanwhile fails with "Database load failed").
 */
export type FakerootAccess = 'saved' | 'read';

/** Wraps a command in fakeroot with `stateFile` when not root (see `fakerootArgv`). */
export function asRoot(
  cmd: string,
  args: readonly string[],
  stateFile: string,
  access: FakerootAccess,
): [string, string[]] {
  if (!needsFakeroot()) return [cmd, [...args]];
  return fakerootArgv(cmd, args, stateFile, access);
}

/** The fakeroot command line running `cmd` with `stateFile` loaded, and saved again if `access` is `saved`. */
export function fakerootArgv(
  cmd: string,
  args: readonly string[],
  stateFile: string,
  access: FakerootAccess,
): [string, string[]] {
  const save = access === 'saved' ? ['-s', stateFile] : [];
  return ['fakeroot', ['-i', stateFile, ...save, '--', cmd, ...args]];
}

/**
 * 512-byte blocks per read of a stream (1 MiB): with GNU tar's default of 20 blocks a 1.2 GB image goes
 * through the pipe in 120,000 writes and as many reads; written and read in 1 MiB records, the test image's
 * extraction took ~0.5 CPU-s less on 2 cores. `--read-full-records` lets a stream written in smaller records
 * (any other tar) be read so.
 */
export const RECORD_BLOCKS = 2048;

/**
 * Extracts `tar` (a stream, or a file or FIFO tar reads itself) into `dir` (which must exist). `strip` drops
 * leading path components; `exclude` takes tar's anchored patterns.
 * @throws BuildError when tar fails or `signal` aborts.
 */
export function extractTar(
  tar: Readable | { file: string },
  dir: string,
  opts: { strip?: number; exclude?: readonly string[]; stateFile: string; signal?: AbortSignal },
): Promise<void> {
  // Under fakeroot xattrs are left to the caller (see stages/tree-xattrs.ts): fakeroot keeps none of them in its
  // state file, and records a file with a faked security.* xattr without its file type.
  const attrs = needsFakeroot() ? ['--no-xattrs', '--no-acls'] : ['--xattrs', '--xattrs-include=*', '--acls'];
  const source = 'file' in tar ? tar.file : '-';
  const records = ['-b', String(RECORD_BLOCKS), '--read-full-records'];
  const args = ['-x', ...records, '-f', source, '-C', dir, '--numeric-owner', ...attrs];
  if (opts.strip) args.push(`--strip-components=${opts.strip}`);
  if (opts.exclude?.length) args.push('--anchored', ...opts.exclude.map((e) => `--exclude=${e}`));
  const [cmd, argv] = asRoot('tar', args, opts.stateFile, 'saved');
  return new Promise((resolve, reject) => {
    const stream = 'file' in tar ? undefined : tar;
    const child = spawn(cmd, argv, { stdio: [stream ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    const onAbort = () => {
      stream?.destroy();
      child.kill('SIGTERM');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (stream && child.stdin) {
      stream.on('error', (e) => {
        child.kill('SIGTERM');
        err += `\n${e.message}`;
      });
      child.stdin.on('error', () => undefined);
      stream.pipe(child.stdin);
    }
    child.on('error', (e) => reject(new BuildError(`tar: cannot start (${e.message})`)));
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) reject(new BuildError('tar: aborted'));
      else if (code === 0) resolve();
      else reject(new BuildError(`tar exited with code ${code}: ${err.trim()}`, { logTail: err.trim() }));
    });
  });
}
