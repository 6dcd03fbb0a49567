/**
 * The one Docker Engine client of the process, loaded on first use: dockerode and its dependencies take about
 * 0.2 s to load, which commands that never talk to Docker (squash, config, --help) should not pay.
 */
import type Docker from 'dockerode';

let client: Promise<Docker> | undefined;

export function docker(): Promise<Docker> {
  client ??= import('dockerode').then((m) => new m.default());
  return client;
}

/** Reads a Docker JSON-lines progress stream to its end; rejects on an `error` line. */
export async function followProgress(stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  const { modem } = await docker();
  return new Promise((resolve, reject) => {
    modem.followProgress(stream, (err: Error | null, out: Array<Record<string, unknown>>) => {
      const bad = out?.find((o) => typeof o.error === 'string');
      if (err) reject(err);
      else if (bad) reject(new Error(String(bad.error)));
      else resolve(out);
    });
  });
}
