/**
 * One layer of files on top of an existing local image, committed as a new tagged image: a container is
 * created from the base (never started), the tar stream is unpacked into it, and the container is
 * committed with Dockerfile-style changes and removed whatever happens. This is how a QCOW bundle image
 * gets a runtime (the base image's python3) without pulling anything.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { BuildError } from '../errors.js';
import { CUT_LABEL, inspectImage } from './container-io.js';
import { labelChanges, SESSION_LABEL, splitRef } from './docker.js';
import { docker } from './docker-client.js';

export interface LayerInput {
  base: string;
  /** Files of the new layer, unpacked at `/`. */
  tar: Readable;
  ref: string;
  labels: Record<string, string>;
  /** Further Dockerfile instructions (`ENTRYPOINT [...]`, `CMD []`). */
  changes: readonly string[];
  /** Session id for the temporary container's label, so a crash leaves something a sweep finds. */
  session: string;
  /** Aborts the copy (the tar stream is destroyed) or, after the commit, removes the new image again. */
  signal?: AbortSignal;
}

function message(err: unknown): string {
  const j = (err as { json?: { message?: string } }).json;
  return j?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Commits `tar` over `base` as image `ref`.
 * @returns the new image id.
 * @throws BuildError naming the base or the reference when a Docker call fails.
 */
export async function layerImage(input: LayerInput): Promise<string> {
  let created: Docker.Container;
  try {
    created = await (await docker()).createContainer({
      Image: input.base,
      Cmd: ['/bin/true'],
      Entrypoint: [],
      Labels: { [CUT_LABEL]: 'package', [SESSION_LABEL]: input.session },
      HostConfig: { NetworkMode: 'none' },
    });
  } catch (err) {
    throw new BuildError(
      `docker: cannot create a container from ${input.base}: ${message(err)}`,
      {},
      { cause: err },
    );
  }
  let streamError: Error | undefined;
  input.tar.on('error', (e: Error) => {
    streamError ??= e;
  });
  const signal = input.signal;
  const onAbort = () =>
    input.tar.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason;
    await created.putArchive(input.tar as unknown as NodeJS.ReadableStream, { path: '/' });
    if (streamError) throw streamError;
    if (signal?.aborted) throw signal.reason;
    const { repo, tag } = splitRef(input.ref);
    await created.commit({
      repo,
      tag,
      pause: false,
      changes: [...labelChanges(input.labels), ...input.changes],
    });
    // An abort during the commit: the image was made all the same, and an interrupted run leaves nothing.
    if (signal?.aborted) {
      await (await docker())
        .getImage(input.ref)
        .remove({ force: true })
        .catch(() => undefined);
      throw signal.reason;
    }
  } catch (err) {
    const cause = signal?.aborted ? signal.reason : (streamError ?? err);
    throw new BuildError(`docker: cannot commit image ${input.ref}: ${message(cause)}`, {}, { cause });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await created.remove({ force: true, v: true }).catch(() => undefined);
  }
  const facts = await inspectImage(input.ref);
  if (!facts) throw new BuildError(`docker: image ${input.ref} is missing after commit`);
  return facts.id;
}
