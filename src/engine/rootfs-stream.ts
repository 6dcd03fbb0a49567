/**
 * An image's files streamed by GNU tar run in a throw-away container of the image, into a FIFO the host reads.
 * `docker export` of the test image takes 5–8 s on a 2-core machine (dockerd builds the stream in Go, file by
 * file, and every byte then crosses the API socket, twice when a client copies it on); this takes about 2 s.
 *
 * The container runs the image's own tar, as an osconfig run runs the image's own commands: read-only root,
 * no network, no new privileges, every capability dropped but reading any file and opening the FIFO. Its only
 * view of the host is the FIFO's folder, mounted read-only: it can write bytes into the pipe and nothing else.
 * What comes out of the pipe is as hostile as the image, and is unpacked like an export.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { BuildError } from '../errors.js';
import { DOCKER_MOUNTS } from './container-diff.js';
import { CUT_LABEL } from './container-io.js';
import { docker } from './docker-client.js';
import { run } from './exec.js';
import { RECORD_BLOCKS } from './tar-extract.js';

/** Where the FIFO's folder appears in the container. */
const MOUNT = '/.airship-image-builder-stream';

/**
 * Left out of the stream: what Docker puts in every running container (its mounts over /dev, /proc, /sys and
 * three files of /etc, and its marker file), and our mount point. None of it is the image's.
 */
const DOCKER_MADE = ['dev', 'proc', 'sys', '.dockerenv', ...[...DOCKER_MOUNTS].map((p) => p.slice(1))];

export interface RootfsStreamInput {
  /** Image id or reference. */
  ref: string;
  labels: Record<string, string>;
  /** Image paths (relative, e.g. `livecd`) left out of the stream besides Docker's own. */
  exclude: readonly string[];
  /** An empty folder of ours for the FIFO; removed afterwards. */
  folder: string;
  signal?: AbortSignal;
}

/** Why the container's tar gave no stream (an image without GNU tar, or one whose tar misbehaves). */
export type RootfsStreamResult = { ok: true } | { ok: false; reason: string };

/**
 * Runs the container and `consume(fifo)` (which reads the whole tar stream from the FIFO) side by side.
 * Never throws for what the image's tar does: a tar that fails, never opens the FIFO or writes something that
 * is not a tar comes back as `{ ok: false }` (the caller unpacks with `docker export` instead, into a clean
 * folder).
 * @throws BuildError when Docker cannot create the container (no such image), or on abort.
 */
export async function streamRootfs(
  input: RootfsStreamInput,
  consume: (fifo: string) => Promise<void>,
): Promise<RootfsStreamResult> {
  await mkdir(input.folder, { mode: 0o700 });
  const fifo = join(input.folder, 'rootfs.tar');
  let container: Docker.Container | undefined;
  let removing: Promise<unknown> | undefined;
  const onAbort = () => {
    removing = container?.remove({ force: true }).catch(() => undefined);
  };
  input.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await run('mkfifo', ['-m', '0600', fifo]);
    const excluded = [...DOCKER_MADE, MOUNT.slice(1), ...input.exclude].map((p) => `--exclude=./${p}`);
    try {
      container = await (await docker()).createContainer({
        Image: input.ref,
        Entrypoint: ['tar'],
        Cmd: [
          // Written in the records the reader reads (see RECORD_BLOCKS), not in tar's 10 KiB.
          ...['-c', '-b', String(RECORD_BLOCKS), '-f', `${MOUNT}/rootfs.tar`, '-C', '/', '--numeric-owner'],
          // What `docker export` carries: file capabilities are the only xattrs Docker keeps in a layer's tar.
          ...[
            '--xattrs',
            '--xattrs-include=security.capability',
            '--pax-option=delete=atime,delete=ctime,delete=mtime',
          ],
          ...['--anchored', ...excluded, '.'],
        ],
        User: '0:0',
        WorkingDir: '/',
        Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C'],
        NetworkDisabled: true,
        Labels: { [CUT_LABEL]: '1', ...input.labels },
        HostConfig: {
          NetworkMode: 'none',
          ReadonlyRootfs: true,
          Binds: [`${input.folder}:${MOUNT}:ro`],
          CapDrop: ['ALL'],
          CapAdd: ['DAC_READ_SEARCH', 'DAC_OVERRIDE'],
          SecurityOpt: ['no-new-privileges'],
        },
      });
    } catch (err) {
      throw new BuildError(
        `docker: cannot create a container from ${input.ref}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
    // Both ends held open until the container is done: neither our reader nor its writer waits in open(), and
    // a tar that never opens the FIFO still ends our reader (at our close) instead of leaving it waiting.
    const holder = openSync(fifo, constants.O_RDWR);
    const c = container;
    const reading = consume(fifo).then(
      () => undefined,
      (e: Error) => {
        // Our reader is gone: its writer would wait on a full pipe (we still hold a reader end) for ever.
        removing ??= c.remove({ force: true }).catch(() => undefined);
        return e;
      },
    );
    const exit = await runToEnd(c).catch((e: Error) => e);
    closeSync(holder);
    const readError = await reading;
    if (input.signal?.aborted) throw new BuildError('rootfs stream: aborted');
    // Our reader's failure first: the container may only have stopped because we stopped it.
    if (readError) return { ok: false, reason: firstLine(readError.message) };
    // A start that fails is the image's doing as a rule (no tar in it); a broken Docker fails the export too.
    if (exit instanceof Error) return { ok: false, reason: firstLine(exit.message) };
    if (exit !== 0) return { ok: false, reason: `its tar exited with code ${exit}` };
    return { ok: true };
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
    // An abort's removal may still be going on: the container is gone only once it is done.
    await removing;
    await container?.remove({ force: true }).catch(() => undefined);
    await rm(input.folder, { recursive: true, force: true });
  }
}

async function runToEnd(c: Docker.Container): Promise<number> {
  const waiting = c.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
  await c.start();
  return (await waiting).StatusCode;
}

const firstLine = (text: string): string => text.trim().split('\n')[0] ?? '';
