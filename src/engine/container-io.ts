/**
 * Reading the built image through the Docker Engine API: inspect it, run a labelled throw-away container,
 * stream a folder or the whole filesystem out of it, and import a tar stream as a new image.
 * Every container carries {@link CUT_LABEL} so a crash leaves something a sweep can find; callers use
 * {@link withContainer}, which always removes it.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { BuildError } from '../errors.js';
import { labelChanges, splitRef } from './docker.js';
import { docker, followProgress } from './docker-client.js';

export const CUT_LABEL = 'io.airshipit.image-builder.cut';

export interface ImageFacts {
  id: string;
  /** First repo digest, or the image id when the image was never pushed. */
  digest: string;
  labels: Record<string, string>;
  created: string;
  /** Bytes of the image's files (all layers, uncompressed), as Docker reports them. */
  size: number;
}

/** Facts about a local image, or null when it does not exist. @throws BuildError when the daemon fails. */
export async function inspectImage(ref: string): Promise<ImageFacts | null> {
  try {
    const info = await (await docker()).getImage(ref).inspect();
    return {
      id: info.Id,
      digest: info.RepoDigests?.[0] ?? info.Id,
      labels: info.Config?.Labels ?? {},
      created: info.Created,
      size: info.Size ?? 0,
    };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw new BuildError(
      `docker: cannot inspect image ${ref}: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
}

export interface CutContainer {
  id: string;
  /** Tar stream of `path` inside the container (the folder itself is the first entry). */
  archive(path: string): Promise<Readable>;
  /** Tar stream of the container's whole filesystem. */
  export(): Promise<Readable>;
}

/**
 * Creates a container from `ref` (never started unless `start`), runs `fn` with it and removes it whatever
 * happens, including an abort.
 * @throws BuildError when the container cannot be created.
 */
export async function withContainer<T>(
  ref: string,
  labels: Record<string, string>,
  fn: (c: CutContainer) => Promise<T>,
): Promise<T> {
  let created: Docker.Container;
  try {
    created = await (await docker()).createContainer({
      Image: ref,
      Cmd: ['/bin/true'],
      Labels: { [CUT_LABEL]: '1', ...labels },
      HostConfig: { NetworkMode: 'none' },
    });
  } catch (err) {
    throw new BuildError(
      `docker: cannot create a container from ${ref}: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  const c = created;
  try {
    return await fn({
      id: c.id,
      archive: async (path) => (await c.getArchive({ path })) as unknown as Readable,
      export: async () => (await c.export()) as unknown as Readable,
    });
  } finally {
    await c.remove({ force: true, v: true }).catch(() => undefined);
  }
}

/** Ids of containers still carrying `label=value` (for tests and sweeps). */
export async function containersLabelled(label: string, value: string): Promise<string[]> {
  const list = await (await docker()).listContainers({
    all: true,
    filters: { label: [`${label}=${value}`] },
  });
  return list.map((c) => c.Id);
}

/**
 * Imports a tar stream as image `ref` with `labels`.
 * @throws BuildError when the daemon refuses the stream.
 */
export async function importImage(
  tar: Readable,
  ref: string,
  labels: Record<string, string>,
  signal?: AbortSignal,
): Promise<string> {
  const changes = labelChanges(labels);
  const { repo, tag } = splitRef(ref);
  // An abort destroys `tar` with an error that nothing else listens for, which would end the process; a read
  // error of the stream's own is the better cause than the daemon's "unexpected EOF".
  let streamError: Error | undefined;
  tar.on('error', (e: Error) => {
    streamError ??= e;
  });
  try {
    const stream = await (await docker()).importImage(
      tar as unknown as NodeJS.ReadableStream,
      { repo, tag, changes, ...(signal ? { abortSignal: signal } : {}) } as object,
    );
    await followProgress(stream);
  } catch (err) {
    const cause = signal?.aborted ? signal.reason : (streamError ?? err);
    throw new BuildError(`docker: cannot import image ${ref}: ${(cause as Error).message}`, {}, { cause });
  }
  const facts = await inspectImage(ref);
  if (!facts) throw new BuildError(`docker: image ${ref} is missing after import`);
  return facts.id;
}

/** Removes a local image (tests, cleanup); missing is fine. */
export async function removeImage(ref: string): Promise<void> {
  await (await docker())
    .getImage(ref)
    .remove({ force: true })
    .catch(() => undefined);
}
