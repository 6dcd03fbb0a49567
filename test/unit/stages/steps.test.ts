/**
 * The step runner over a fake list of steps: each step's events (start → done/failed, or reused/skipped
 * without a start), its timing, and its lines in the run's log with timestamps, durations and exit status.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../src/progress.js';
import { newSession } from '../../../src/stages/reaper.js';
import { runLogFile, type Step, StepRunner } from '../../../src/stages/steps.js';

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

describe('step runner', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'steps-test-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs the list in order, reports and logs each step, and stops at the first failure', async () => {
    const events: ProgressEvent[] = [];
    const logFile = runLogFile(join(dir, 'logs'), 'fake');
    expect(logFile).toMatch(new RegExp(`/logs/fake-\\d{8}-\\d{6}-${process.pid}\\.log$`));
    const runner = new StepRunner({
      command: 'fake',
      logFile,
      session: newSession(),
      onProgress: (e) => events.push(e),
      redact: (t) => t.replaceAll('hunter2', '***'),
    });
    const ran: string[] = [];
    const steps: Step<{ n: number }>[] = [
      {
        name: 'cached',
        cached: async () => ({ outcome: 'reused', message: 'reused (inputs unchanged)' }),
        run: async () => void ran.push('cached'),
      },
      {
        name: 'work',
        describe: (c) => `n=${c.n}`,
        run: async (c, h) => {
          ran.push('work');
          h.progress('copy', c.n, 10, 'bytes');
        },
      },
      { name: 'broken', run: async () => Promise.reject(new Error('password hunter2 refused\nsecond line')) },
      { name: 'never', run: async () => void ran.push('never') },
    ];
    await runner.begin({ folders: [] });
    await expect(runner.run(steps, { n: 4 })).rejects.toThrow('password hunter2 refused');
    await runner.end(false);

    expect(ran).toEqual(['work']);
    expect(runner.current).toBe('broken');
    expect(events.map((e) => `${e.stage} ${e.kind}`)).toEqual([
      'cached reused',
      'work start',
      'work progress',
      'work done',
      'broken start',
      'broken failed',
    ]);
    expect(events[2]).toEqual({
      stage: 'work',
      kind: 'progress',
      message: 'copy',
      done: 4,
      total: 10,
      unit: 'bytes',
    });
    expect(events[5]?.message).toBe('password *** refused');
    expect(runner.timings.map((t) => `${t.step}:${t.outcome}`)).toEqual([
      'cached:reused',
      'work:built',
      'broken:failed',
    ]);

    const log = (await readFile(logFile, 'utf8')).trimEnd().split('\n');
    const body = log.map((l) => l.replace(new RegExp(`^${ISO} `), ''));
    expect(log.every((l) => new RegExp(`^${ISO} `).test(l))).toBe(true);
    expect(body[0]).toMatch(/^fake: started \(pid \d+, session p\d+-/);
    expect(body.slice(1)).toEqual([
      'step cached: reused: reused (inputs unchanged)',
      'step work: started (n=4)',
      expect.stringMatching(/^step work: done in \d+\.\d s \(exit 0\)$/),
      'step broken: started',
      expect.stringMatching(/^step broken: failed after \d+\.\d s \(exit 1\): password \*\*\* refused$/),
      expect.stringMatching(/^fake: failed; steps took \d+\.\d s$/),
    ]);
  });

  it('reports a step that fails because the run was interrupted as interrupted, not with its error', async () => {
    const ac = new AbortController();
    const events: ProgressEvent[] = [];
    const runner = new StepRunner({
      command: 'fake',
      logFile: join(dir, 'i.log'),
      session: 's',
      signal: ac.signal,
      onProgress: (e) => events.push(e),
    });
    await expect(
      runner.step('slow', async () => {
        ac.abort();
        throw new Error('qemu-img aborted');
      }),
    ).rejects.toThrow('qemu-img aborted');
    expect(events.at(-1)).toMatchObject({ stage: 'slow', kind: 'failed', message: 'interrupted' });
    expect(await readFile(join(dir, 'i.log'), 'utf8')).toMatch(
      /step slow: failed after \d+\.\d s \(exit 1\): interrupted\n$/,
    );
  });

  it('starts no step once the run is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const runner = new StepRunner({
      command: 'fake',
      logFile: join(dir, 'a.log'),
      session: 's',
      signal: ac.signal,
    });
    let ran = false;
    await expect(
      runner.step('late', async () => {
        ran = true;
      }),
    ).rejects.toThrow('late: aborted');
    expect(ran).toBe(false);
  });
});
