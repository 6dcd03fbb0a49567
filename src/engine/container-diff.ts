/**
 * A running container's changes against its image, as a layer: the paths Docker reports deleted, and a tar of
 * the added and changed paths (each without its children: a changed folder brings its own metadata, its
 * changed entries come as their own paths). Lets a cut apply one bundle's osconfig result to a tree extracted
 * once, instead of exporting the whole file system again per bundle.
 *
 * The tar is written by the image's own `tar` inside the container, so it is as untrusted as the image:
 * the caller checks every entry before it is unpacked (stages/layer.ts).
 */
import { createWriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
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

async function tarInContainer(id: string, names: readonly string[], file: string): Promise<void> {
  const c = (await docker()).getContainer(id);
  const cmd = ['tar', '-c', '-f', '-', '--no-recursion', '--numeric-owner', '--xattrs', '--xattrs-include=*'];
  let stderr = '';
  try {
    const exec = await c.exec({
      Cmd: [...cmd, '-C', '/', '--', ...names],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
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
    await pipeline(out, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    const { ExitCode } = (await exec.inspect()) as { ExitCode: number | null };
    if (ExitCode !== 0) throw new Error(`tar exited with code ${ExitCode}: ${stderr.trim()}`);
  } catch (err) {
    throw new BuildError(
      `docker: archive of the changes in container ${id}: ${(err as Error).message}`,
      { ...(stderr ? { logTail: stderr.trim() } : {}) },
      { cause: err },
    );
  }
}
