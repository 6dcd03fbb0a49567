/**
 * Finishing an artifact: md5sum file in `md5sum -c` format, the profile JSON that records what it was
 * built from, and the temp-file-then-rename rule (a crash leaves only `.tmp-*` files, removed on failure).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function md5File(file: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A temp path beside `target` that the final rename replaces. */
export function tempBeside(target: string): string {
  return join(dirname(target), `.tmp-${process.pid}-${Date.now().toString(36)}-${basename(target)}`);
}

/**
 * Runs `write(tmp)` and renames `tmp` onto `target` only when it succeeds; removes `tmp` otherwise.
 * @throws whatever `write` throws.
 */
export async function writeAtomically(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempBeside(target);
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
  await writeAtomically(prof, (t) => writeFile(t, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 }));
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
