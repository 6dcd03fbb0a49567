/**
 * The Docker Engine client (dockerode) for the build: image import, containers labelled with a session id,
 * commit, export and cleanup. Every container this module creates carries {@link SESSION_LABEL} so a crash
 * can be swept up by label on the next run.
 */
import type { Readable } from 'node:stream';
import { BuildError } from '../errors.js';
import { docker, followProgress } from './docker-client.js';

/** Label on every container the build creates; its value is the session id. */
export const SESSION_LABEL = 'airship-image-builder.session';
/** Label on intermediate images: the stage that made them. */
export const STAGE_LABEL = 'airship-image-builder.stage';

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'json' in err) {
    const j = (err as { json?: { message?: string } }).json;
    if (j?.message) return j.message;
  }
  return err instanceof Error ? err.message : String(err);
}

function fail(what: string, err: unknown): never {
  if (err instanceof BuildError) throw err;
  throw new BuildError(`docker: ${what}: ${describe(err)}`, {}, { cause: err });
}

/** `LABEL k="v"` Dockerfile instructions for import/commit `changes`. */
export function labelChanges(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`);
}

/**
 * Imports a root file system tar stream as an image (nothing unpacked on the host).
 * @returns the new image id.
 * @throws BuildError when the daemon rejects the stream.
 */
export async function importTar(
  tar: Readable,
  changes: readonly string[],
  signal?: AbortSignal,
): Promise<string> {
  // An abort destroys `tar` with an error that nothing else listens for, which would end the process.
  let streamError: Error | undefined;
  tar.on('error', (e: Error) => {
    streamError ??= e;
  });
  try {
    const stream = (await (
      await docker()
    ).importImage(tar, {
      changes: [...changes],
      ...(signal ? { abortSignal: signal } : {}),
    })) as NodeJS.ReadableStream;
    const out = await followProgress(stream);
    const id = out
      .map((o) => o.status)
      .filter((s): s is string => typeof s === 'string')
      .find((s) => s.startsWith('sha256:'));
    if (!id) throw new Error('the daemon did not return an image id');
    return id;
  } catch (err) {
    fail('import of the root file system', signal?.aborted ? signal.reason : (streamError ?? err));
  }
}

/** The id of an image, or null when there is none. */
export async function imageId(ref: string): Promise<string | null> {
  try {
    const info = await (await docker()).getImage(ref).inspect();
    return info.Id;
  } catch {
    return null;
  }
}

/** Labels of an image (empty when it has none). */
export async function imageLabels(ref: string): Promise<Record<string, string>> {
  try {
    const info = await (await docker()).getImage(ref).inspect();
    return info.Config?.Labels ?? {};
  } catch (err) {
    fail(`inspect ${ref}`, err);
  }
}

/** Points `repo:tag` at image `id`. */
export async function tagImage(id: string, ref: string): Promise<void> {
  const { repo, tag } = splitRef(ref);
  try {
    await (await docker()).getImage(id).tag({ repo, tag });
  } catch (err) {
    fail(`tag ${ref}`, err);
  }
}

/** Removes an image (or tag); missing images are ignored. */
export async function removeImage(ref: string): Promise<void> {
  try {
    await (await docker()).getImage(ref).remove({ noprune: false });
  } catch {
    // already gone or in use by another tag: nothing to clean
  }
}

export function splitRef(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

/**
 * Pushes `ref` to its registry.
 * @throws BuildError when the registry refuses or cannot be reached.
 */
export async function pushImage(ref: string, signal?: AbortSignal): Promise<void> {
  const { tag } = splitRef(ref);
  try {
    const stream = (await (
      await docker()
    )
      .getImage(ref)
      .push({ tag, ...(signal ? { abortSignal: signal } : {}) })) as NodeJS.ReadableStream;
    await followProgress(stream);
  } catch (err) {
    fail(`push ${ref}`, err);
  }
}

export interface BuildContainer {
  id: string;
  /** Name usable by the ansible docker connection. */
  name: string;
}

/**
 * Creates (and with `start`, starts) a container from `image`, labelled with the session id; its command
 * keeps it alive so Ansible can run in it. With `network` it is on Docker's default bridge, else it has no
 * network at all (loopback only).
 */
export async function createContainer(
  image: string,
  opts: { session: string; name: string; start: boolean; network: boolean; env?: string[] },
): Promise<BuildContainer> {
  try {
    const c = await (await docker()).createContainer({
      Image: image,
      name: opts.name,
      Cmd: ['sleep', 'infinity'],
      Entrypoint: [],
      Labels: { [SESSION_LABEL]: opts.session },
      ...(opts.env ? { Env: opts.env } : {}),
      // Without a network Docker also skips its network hook at start: some 0.4 CPU-s a container here.
      NetworkDisabled: !opts.network,
      HostConfig: { NetworkMode: opts.network ? 'bridge' : 'none' },
    });
    if (opts.start) await c.start();
    return { id: c.id, name: opts.name };
  } catch (err) {
    fail(`create a container from ${image}`, err);
  }
}

/** Force-removes a container; a missing one is fine. */
export async function removeContainer(id: string): Promise<void> {
  try {
    await (await docker()).getContainer(id).remove({ force: true, v: true });
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code !== 404 && code !== 409) fail(`remove container ${id}`, err);
  }
}

/**
 * Removes the containers, then the untagged images, whose session label `isOver` says belongs to a run that is
 * gone. Tagged images (stage results, the built image) are results, not leftovers, and are never touched; an
 * image still in use is left for a later sweep.
 * @returns how many containers and images were removed.
 * @throws BuildError when the daemon cannot list them.
 */
export async function sweepSessions(
  isOver: (session: string) => boolean,
): Promise<{ containers: number; images: number }> {
  let containers = 0;
  let images = 0;
  try {
    const d = await docker();
    for (const c of await d.listContainers({ all: true, filters: { label: [SESSION_LABEL] } })) {
      if (!isOver(c.Labels?.[SESSION_LABEL] ?? '')) continue;
      await removeContainer(c.Id);
      containers++;
    }
    const list = await d.listImages({ filters: { label: [SESSION_LABEL], dangling: ['true'] } });
    for (const i of list) {
      if (!isOver(i.Labels?.[SESSION_LABEL] ?? '')) continue;
      const removed = await d
        .getImage(i.Id)
        .remove({ noprune: false })
        .then(() => true)
        .catch(() => false);
      if (removed) images++;
    }
  } catch (err) {
    fail('sweep leftovers of earlier runs', err);
  }
  return { containers, images };
}

/**
 * Commits a container as a new untagged image with `changes` (LABEL …) applied.
 * @returns the new image id.
 */
export async function commitContainer(id: string, changes: readonly string[]): Promise<string> {
  try {
    // The container keeps running `sleep`; pause is the default and keeps the snapshot consistent.
    const res = (await (await docker()).getContainer(id).commit({ changes: [...changes], pause: true })) as {
      Id: string;
    };
    return res.Id;
  } catch (err) {
    fail(`commit container ${id}`, err);
  }
}

/** The container's file system as a tar stream (`docker export`). */
export async function exportContainer(id: string): Promise<Readable> {
  try {
    return (await (await docker()).getContainer(id).export()) as unknown as Readable;
  } catch (err) {
    fail(`export container ${id}`, err);
  }
}

/** A tar stream of `path` inside the container. */
export async function getArchive(id: string, path: string): Promise<Readable> {
  try {
    return (await (await docker()).getContainer(id).getArchive({ path })) as unknown as Readable;
  } catch (err) {
    fail(`read ${path} from container ${id}`, err);
  }
}

/** Unpacks a tar stream into `path` inside the container. */
export async function putArchive(id: string, tar: Readable, path: string): Promise<void> {
  try {
    await (await docker()).getContainer(id).putArchive(tar, { path });
  } catch (err) {
    fail(`copy files into container ${id}`, err);
  }
}

/**
 * Checks the daemon answers.
 * @throws BuildError naming the socket when it does not.
 */
export async function pingDocker(): Promise<void> {
  try {
    await (await docker()).ping();
  } catch (err) {
    fail('the Docker Engine does not answer (is dockerd running and /var/run/docker.sock reachable?)', err);
  }
}
