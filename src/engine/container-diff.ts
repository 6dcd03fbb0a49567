/**
 * A running container's changes against its image, as a layer: the paths Docker reports deleted, and a tar of
 * the added and changed paths (each without its children: a changed folder brings its own metadata, its
 * changed entries come as their own paths). Lets a cut apply one bundle's osconfig result to a tree extracted
 * once, instead of exporting the whole file system again per bundle.
 *
 * The tar is written by the image's own `tar` inside the container, so it is as untrusted as the image:
 * the caller checks every entry before it is unpacked (stages/layer.ts). So are the listings of
 * {@link statusSnapshot}, by the image's own `find`: a lie there only changes the image's own tree, where every
 * deleted path is checked the same way.
 */
import { createWriteStream } from 'node:fs';
import { type Duplex, PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BuildError } from '../errors.js';
import { docker } from './docker-client.js';

export interface ContainerChange {
  /** Absolute path inside the container. */
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

const KINDS = ['modified', 'added', 'deleted'] as const;

/** Files Docker bind-mounts into every running container; a commit never holds them, so neither does a layer. */
export const DOCKER_MOUNTS = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']);

/**
 * `docker diff` of container `id`, without Docker's own mounts.
 * @throws BuildError naming the container.
 */
export async function containerChanges(id: string): Promise<ContainerChange[]> {
  let raw: Array<{ Path: string; Kind: number }> | null;
  try {
    raw = (await (await docker()).getContainer(id).changes()) as Array<{ Path: string; Kind: number }> | null;
  } catch (err) {
    throw new BuildError(
      `docker: list the changes of container ${id}: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  return (raw ?? [])
    .filter((c) => !DOCKER_MOUNTS.has(c.Path))
    .map((c) => ({ path: c.Path, kind: KINDS[c.Kind] ?? 'modified' }));
}

/** Bytes of path arguments per `tar` run inside the container, well below the kernel's argument limit. */
const ARG_BYTES = 96 * 1024;

/**
 * Writes tar archives of `paths` (absolute, in the container; each without recursion) as `out-0.tar`,
 * `out-1.tar`, … and returns their file names in order. Empty `paths` gives no file.
 * @throws BuildError naming the container and tar's message when a run fails.
 */
export async function archivePaths(
  id: string,
  paths: readonly string[],
  out: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const batches: string[][] = [];
  let size = ARG_BYTES;
  for (const p of paths) {
    if (size + p.length + 1 > ARG_BYTES) {
      batches.push([]);
      size = 0;
    }
    batches.at(-1)?.push(p.replace(/^\/+/, ''));
    size += p.length + 1;
  }
  const files: string[] = [];
  for (const [n, batch] of batches.entries()) {
    if (signal?.aborted) throw new BuildError('docker: archive of the container changes: aborted');
    const file = `${out}-${n}.tar`;
    await tarInContainer(id, batch, file);
    files.push(file);
  }
  return files;
}

/** Folders where Docker mounts its own file systems in every container: never part of a layer. */
const DOCKER_FS = ['/dev', '/proc', '/sys'];

/** Bytes of a find listing taken at most: some 60 bytes an entry, so millions of entries. */
const LISTING_LIMIT = 256 * 1024 * 1024;

/** Path → status-change time (ctime, as find prints it) of every entry of a container's file system. */
export type StatusSnapshot = Map<string, string>;

/** What the listings print per entry: its ctime and path, NUL-ended (see {@link parseSnapshot}). */
const ENTRY_FORMAT = '%C@ %p\\0';

/**
 * Running container `id`'s files listed by the image's own find, Docker's mounts left out.
 * @returns null when the image's find cannot list them so (no GNU find).
 * @throws BuildError when Docker cannot run the exec.
 */
export async function statusSnapshot(id: string): Promise<StatusSnapshot | null> {
  const prune = DOCKER_FS.flatMap((d, i) => [...(i ? ['-o'] : []), '-path', d]);
  return findListing(id, ['/', '(', ...prune, ')', '-prune', '-o', '-printf', ENTRY_FORMAT], LISTING_LIMIT);
}

/**
 * What Docker's init layer makes for each container (besides its mounts, which no listing holds): their ctimes
 * differ between two containers of one image; every other path's are the image's own.
 */
const INIT_LAYER_PATHS = ['/.dockerenv', '/etc', '/etc/mtab'];

/**
 * Running container `id`'s listing made from `shared` (the {@link statusSnapshot} of another container of the
 * same image) with the paths of Docker's init layer listed anew: the same listing, for one small find instead
 * of a walk of the whole tree.
 * @returns null when the image's find cannot list them so.
 * @throws BuildError when Docker cannot run the exec.
 */
export async function statusSnapshotFrom(id: string, shared: StatusSnapshot): Promise<StatusSnapshot | null> {
  const only = INIT_LAYER_PATHS.flatMap((p, i) => [...(i ? ['-o'] : []), '-path', p]);
  const own = await findListing(
    id,
    ['/', '/etc', '-maxdepth', '1', '(', ...only, ')', '-printf', ENTRY_FORMAT],
    4096,
  );
  if (!own) return null;
  const snap: StatusSnapshot = new Map(shared);
  for (const p of INIT_LAYER_PATHS) {
    const ctime = own.get(p);
    if (ctime === undefined) snap.delete(p);
    else snap.set(p, ctime);
  }
  return snap;
}

/**
 * The image's find run with `args` in container `id`, its listing parsed.
 * @returns null when it failed, printed something else, or more than `limit` bytes.
 * @throws BuildError when Docker cannot run the exec.
 */
async function findListing(id: string, args: string[], limit: number): Promise<StatusSnapshot | null> {
  const out: Buffer[] = [];
  let size = 0;
  let over = false;
  // The image's find may print without end: past the limit the listing is dropped, as one that is not a listing.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      over = size > limit;
      if (!over) out.push(chunk);
      done(over ? new Error(`find printed more than ${limit} bytes`) : null);
    },
  });
  let r: { code: number | null };
  try {
    r = await execInto(id, ['find', ...args], sink);
  } catch (err) {
    if (over) return null;
    throw err;
  }
  if (r.code !== 0) return null;
  return parseSnapshot(Buffer.concat(out));
}

/**
 * Records `<ctime> <path>`, each ended by NUL, as `find -printf '%C@ %p\\0'` writes them, without `/` and
 * Docker's mounts. Null when a record is not of that form.
 */
export function parseSnapshot(listing: Buffer): StatusSnapshot | null {
  const snap: StatusSnapshot = new Map();
  const records = listing.toString('utf8').split('\0');
  if (records.pop() !== '') return null;
  for (const rec of records) {
    const m = /^(\d+(?:\.\d+)?) (\/.*)$/s.exec(rec);
    if (!m) return null;
    const path = m[2] as string;
    if (path === '/' || DOCKER_FS.includes(path) || DOCKER_MOUNTS.has(path)) continue;
    snap.set(path, m[1] as string);
  }
  return snap;
}

/**
 * What changed in the container since `before` (see {@link snapshotChanges}); about a second faster than
 * `docker diff`, which compares the whole tree with the image's. Null when the image's find cannot list it.
 * @throws BuildError when Docker cannot run the exec.
 */
export async function changesSince(id: string, before: StatusSnapshot): Promise<ContainerChange[] | null> {
  const after = await statusSnapshot(id);
  return after && snapshotChanges(before, after);
}

/**
 * The changes from snapshot `before` to `after`: a path is added or modified when it is new or its ctime moved
 * (any write, chmod, chown, rename or overlay copy-up sets it, and nothing in a container can set it back);
 * deleted when it is gone, and only the topmost of a deleted subtree is named, as `docker diff` does.
 */
export function snapshotChanges(before: StatusSnapshot, after: StatusSnapshot): ContainerChange[] {
  const changes: ContainerChange[] = [];
  for (const [path, ctime] of after) {
    const was = before.get(path);
    if (was !== ctime) changes.push({ path, kind: was === undefined ? 'added' : 'modified' });
  }
  const gone = (p: string) => before.has(p) && !after.has(p);
  for (const path of before.keys())
    if (gone(path) && !gone(path.slice(0, path.lastIndexOf('/')))) changes.push({ path, kind: 'deleted' });
  return changes;
}

async function tarInContainer(id: string, names: readonly string[], file: string): Promise<void> {
  const cmd = ['tar', '-c', '-f', '-', '--no-recursion', '--numeric-owner', '--xattrs', '--xattrs-include=*'];
  const r = await execInto(
    id,
    [...cmd, '-C', '/', '--', ...names],
    createWriteStream(file, { flags: 'wx', mode: 0o600 }),
  );
  if (r.code !== 0)
    throw new BuildError(
      `docker: archive of the changes in container ${id}: tar exited with code ${r.code}: ${r.stderr}`,
      {
        ...(r.stderr ? { logTail: r.stderr } : {}),
      },
    );
}

/**
 * Runs `cmd` in running container `id`, its stdout piped into `sink`.
 * @returns its exit code (null when Docker has none) and the tail of its stderr.
 * @throws BuildError when Docker cannot run it or `sink` fails.
 */
async function execInto(
  id: string,
  cmd: string[],
  sink: Writable,
): Promise<{ code: number | null; stderr: string }> {
  const c = (await docker()).getContainer(id);
  let stderr = '';
  let stream: Duplex | undefined;
  try {
    const exec = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    const err = new PassThrough();
    err.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    c.modem.demuxStream(stream, out, err);
    stream.on('end', () => {
      out.end();
      err.end();
    });
    await pipeline(out, sink);
    const { ExitCode } = (await exec.inspect()) as { ExitCode: number | null };
    return { code: ExitCode, stderr: stderr.trim() };
  } catch (err) {
    // A sink that gave up (or failed) must not leave the connection reading a command that may never end.
    stream?.destroy();
    throw new BuildError(
      `docker: run ${cmd[0]} in container ${id}: ${(err as Error).message}`,
      { ...(stderr ? { logTail: stderr.trim() } : {}) },
      { cause: err },
    );
  }
}
