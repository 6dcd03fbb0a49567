/**
 * The reaper: the one place that cleans up after runs. At the start of every command it removes whatever a
 * dead run left behind — temp outputs beside an artifact, scratch folders, containers and untagged images with
 * its session label — when its lease proves the run is gone (src/lease.ts); leftovers of live runs and of other
 * hosts are left alone. At the end of a run it removes what its own session still holds (a container whose
 * removal failed mid-way, a throw-away image). The step runner (src/stages/steps.ts) calls both.
 */
import { tmpdir } from 'node:os';
import { sweepSessions } from '../engine/docker.js';
import { leftBehind, sweepFolder } from '../lease.js';

export { newSession } from './names.js';

export interface SweepPlaces {
  /** Folders whose entries may be our temp files or scratch folders (output folder, cache folders). */
  folders: readonly string[];
  /** Also sweep the Docker Engine (containers and untagged images with our session label). */
  docker?: boolean;
}

export interface SweepResult {
  paths: string[];
  containers: number;
  images: number;
}

/**
 * Sweeps `places` and the host's tmpdir (where scratch folders named `aib-…` live).
 * @throws BuildError when Docker is asked for and cannot list containers or images.
 */
export async function sweepLeftovers(places: SweepPlaces): Promise<SweepResult> {
  // tmpdir belongs to this host alone, so a leftover there whose boot is over is dead whatever host name it has.
  const paths = await sweepFolder(tmpdir(), { hostLocal: true });
  for (const dir of new Set(places.folders)) paths.push(...(await sweepFolder(dir)));
  const docker = places.docker
    ? await sweepSessions((session) => leftBehind(session))
    : { containers: 0, images: 0 };
  return { paths, ...docker };
}

/**
 * Removes the containers and untagged images of this run's `session`. Never throws: it runs on the way out of
 * a run that may be failing already, and the next run's sweep catches whatever is still there.
 */
export async function reapSession(session: string): Promise<void> {
  await sweepSessions((s) => s === session).catch(() => undefined);
}

/** One progress line for a sweep that removed something, or null when there was nothing. */
export function sweepSummary(r: SweepResult): string | null {
  const parts: string[] = [];
  if (r.paths.length) parts.push(`${r.paths.length} temp file(s) or folder(s)`);
  if (r.containers) parts.push(`${r.containers} container(s)`);
  if (r.images) parts.push(`${r.images} image(s)`);
  return parts.length ? `removed leftovers of interrupted runs: ${parts.join(', ')}` : null;
}
