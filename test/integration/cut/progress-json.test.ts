/**
 * `cut-image --progress json` through the CLI on the shared test image: stderr is one JSON event per line in
 * the documented order (docs/progress.md) ending with the summary of steps, and stdout carries only the result.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtImage, TEST_CACHE, TEST_MANIFESTS } from '../../helpers/built-image.js';
import { runCli } from '../../helpers/cli.js';

const out = mkdtempSync(join(tmpdir(), 'aib-progress-json-'));

describe('cut-image --progress json', () => {
  beforeAll(async () => {
    await builtImage();
  }, 3_600_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('reports the ISO cut as start, its phases, done and a summary, one event per line', () => {
    const r = runCli(['cut-image', '--progress', 'json'], {
      IMAGE_BUILDER_CACHE: TEST_CACHE,
      DOCKER_REGISTRY: 'localhost',
      IMAGE_PREFIX: 'airship-test',
      IMAGE_TAG: 'itest',
      DISTRO: 'debian_bookworm',
      WORKDIR: TEST_MANIFESTS,
      IMAGE_TYPE: 'iso',
      BOOT_TIMEOUT: '0',
      OUT_DIR: out,
    });
    expect(r.status, r.stderr).toBe(0);
    const iso = join(out, 'ephemeral.iso');
    expect(r.stdout).toMatch(new RegExp(`^${iso} cut in \\d+\\.\\d s\\n$`));

    // Every line of stderr is an event; none is plain text.
    const events = r.stderr
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const times = events.map((e) => Date.parse(String(e.time)));
    expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= (times[i - 1] as number)))).toBe(
      true,
    );
    // Info events (leftovers swept) depend on what earlier runs left; the sequence of the cut does not.
    const seq = events
      .filter((e) => e.kind !== 'info')
      .map((e) => [e.stage, e.kind, e.kind === 'start' || e.kind === 'progress' ? e.message : undefined]);
    expect(seq).toEqual([
      ['iso', 'start', iso],
      ['iso', 'progress', 'copying /livecd out of the image'],
      ['iso', 'progress', 'writing the hybrid ISO (xorriso)'],
      ['iso', 'done', undefined],
      [undefined, 'summary', undefined],
    ]);
    const done = events.find((e) => e.kind === 'done');
    expect(done?.elapsedMs).toBeGreaterThan(0);
    const summary = events.at(-1) as { steps: { stage: string; outcome: string; ms: number }[] };
    expect(summary.steps).toEqual([{ stage: 'iso', outcome: 'built', ms: done?.elapsedMs }]);
  }, 600_000);
});
