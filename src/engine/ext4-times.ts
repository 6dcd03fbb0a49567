/**
 * Fixed inode times in an ext4 made by `mke2fs -d`, for reproducible disks. mke2fs copies each source file's
 * atime and ctime into its inode; the kernel sets those when the tree is extracted, so two cuts of one image
 * would differ. ctime cannot be set on the source, so the finished filesystem's used inodes get them set by
 * debugfs (which keeps the inode checksums right); the used inodes are read from dumpe2fs' bitmaps.
 */
import { writeFile } from 'node:fs/promises';
import { run } from './exec.js';

/**
 * The used inode numbers from `dumpe2fs` output (header + groups): every inode of the filesystem except the
 * per-group "Free inodes:" ranges.
 * @throws Error when the output lacks the inode count or the group listing.
 */
export function usedInodes(dumpe2fs: string): number[] {
  const count = /^Inode count:\s+(\d+)$/m.exec(dumpe2fs);
  const start = dumpe2fs.search(/^Group 0:/m);
  if (!count || start < 0) throw new Error('dumpe2fs printed no inode count or no groups');
  const total = Number(count[1]);
  const free = new Uint8Array(total + 1);
  for (const m of dumpe2fs.slice(start).matchAll(/^\s+Free inodes: *(.*)$/gm))
    for (const range of (m[1] ?? '').split(',')) {
      const r = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(range);
      if (!r) continue;
      const a = Number(r[1]);
      const b = Math.min(Number(r[2] ?? r[1]), total);
      free.fill(1, a, b + 1);
    }
  const used: number[] = [];
  for (let i = 1; i <= total; i++) if (!free[i]) used.push(i);
  return used;
}

/** debugfs commands setting atime and ctime of `inodes` to `epoch`. */
export function timeCommands(inodes: readonly number[], epoch: number): string {
  return inodes.map((n) => `sif <${n}> ctime @${epoch}\nsif <${n}> atime @${epoch}\n`).join('');
}

/**
 * Sets atime and ctime of every used inode of the ext4 at `offset` in `file` to `epoch`.
 * `scratch` is a file path for the command list; `before` are debugfs commands run first, in the same pass.
 * @throws BuildError when dumpe2fs or debugfs fails; Error when dumpe2fs' output is not understood.
 */
export async function fixExt4Times(
  file: string,
  offset: number,
  epoch: number,
  scratch: string,
  o: { signal?: AbortSignal; before?: string } = {},
): Promise<void> {
  const dev = offset ? `${file}?offset=${offset}` : file;
  const signal = o.signal ? { signal: o.signal } : {};
  const dump = await run('dumpe2fs', [dev], signal);
  // Last, the superblock's lifetime write count, which differs with how the filesystem got its content (e.g.
  // xattrs set by debugfs without root): libext2fs adds a session's writes at close only to a count that is
  // not 0, so 0 stays 0.
  const commands = `${o.before ?? ''}${timeCommands(usedInodes(dump.stdout), epoch)}ssv kbytes_written 0\n`;
  await writeFile(scratch, commands);
  // debugfs echoes each command: kept out of the log. Closing the filesystem stamps the superblock's write
  // time: the fake time keeps it at the epoch too.
  await run('debugfs', ['-w', '-f', scratch, dev], {
    ...signal,
    captureStdout: false,
    env: { ...process.env, E2FSPROGS_FAKE_TIME: String(epoch) },
  });
}
