/**
 * debugfs writing into an ext4 in place: the recorded xattrs of a cut without root (see
 * stages/qcow-filesystem.ts). debugfs keeps the inode checksums right.
 */
import { writeFile } from 'node:fs/promises';
import { run } from './exec.js';

/**
 * Runs debugfs `commands` on the ext4 at `offset` in `file` (`scratch`: a file path for the command list),
 * under the fake time `epoch`.
 * @throws BuildError when debugfs fails.
 */
export async function debugfsWrite(
  file: string,
  offset: number,
  epoch: number,
  scratch: string,
  commands: string,
  o: { signal?: AbortSignal } = {},
): Promise<void> {
  const dev = offset ? `${file}?offset=${offset}` : file;
  // Last, the superblock's lifetime write count, which differs with how the filesystem got its content (e.g.
  // xattrs set by debugfs without root): libext2fs adds a session's writes at close only to a count that is
  // not 0, so 0 stays 0.
  await writeFile(scratch, `${commands}ssv kbytes_written 0\n`);
  // debugfs echoes each command: kept out of the log. Closing the filesystem stamps the superblock's write
  // time: the fake time keeps it at the epoch too.
  await run('debugfs', ['-w', '-f', scratch, dev], {
    ...(o.signal ? { signal: o.signal } : {}),
    captureStdout: false,
    env: { ...process.env, E2FSPROGS_FAKE_TIME: String(epoch) },
  });
}
