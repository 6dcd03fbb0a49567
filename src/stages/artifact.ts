/**
 * Finishing an artifact: md5sum file in `md5sum -c` format, the profile JSON that records what it was
 * built from, and the temp-file-then-rename rule (a failure removes the `.tmp-*` file; one left by a crash
 * carries the run's lease, so the next run's sweep removes it).
 */
import { createHash } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { leasedName } from '../lease.js';

/** One buffer for the whole file: a stream's fresh 64 KiB chunks made the thread collect garbage all along. */
export async function md5File(file: string): Promise<string> {
  const h = createHash('md5');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fh = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** A fresh temp path beside `target`, named with this run's lease, that the final rename replaces. */
export function tempBeside(target: string): string {
  return join(dirname(target), leasedName('.tmp-', `-${basename(target)}`));
}

/**
 * Runs `write(tmp)` and renames `tmp` onto `target` only when it succeeds; removes `tmp` otherwise. `tmp` is
 * created empty here with O_EXCL and `mode` (before the umask), so `write` only ever opens a file this run
 * made, never one planted beside the target; writing into an existing file keeps that mode.
 * @throws whatever `write` throws; an EEXIST error when something appeared at the fresh temp name.
 */
export async function writeAtomically(
  target: string,
  write: (tmp: string) => Promise<void>,
  mode = 0o666,
): Promise<void> {
  const tmp = tempBeside(target);
  await (await open(tmp, 'wx', mode)).close();
  try {
    await write(tmp);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface Profile {
  artifact: string;
  type: 'iso' | 'qcow';
  md5: string;
  bytes: number;
  image: { ref: string; id: string; digest: string };
  configDigest: string;
  tool: { name: string; version: string };
  sourceDateEpoch: number;
  [k: string]: unknown;
}

/** Writes `<artifact>.md5sum` and `<artifact-stem>.json` (both atomically). */
export async function writeSidecars(
  artifactPath: string,
  profile: Profile,
): Promise<{ md5sum: string; profile: string }> {
  const md5sum = `${artifactPath}.md5sum`;
  const prof = `${artifactPath.replace(/\.(iso|qcow2)$/, '')}.json`;
  await writeAtomically(md5sum, (t) => writeFile(t, `${profile.md5}  ${basename(artifactPath)}\n`));
  // Owner-only, like the logs: the profile records where the artifact came from.
  // writeAtomically creates the temp file, so the mode is given to it: writeFile keeps an existing file's mode.
  await writeAtomically(prof, (t) => writeFile(t, `${JSON.stringify(profile, null, 2)}\n`), 0o600);
  return { md5sum, profile: prof };
}

/** Digest of a JSON-able value with sorted keys (the config part an artifact depends on). */
export function digestOf(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(sort(value)))
    .digest('hex')}`;
}
