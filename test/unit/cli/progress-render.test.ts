/**
 * The progress renderer driven with fake streams and a fake clock: the plain lines and their throttling, the
 * JSON lines and summary, the TTY live area (redrawn in place, percent and ETA) and the table of steps.
 */
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../src/api.js';
import { amount, stepTable } from '../../../src/cli/progress-format.js';
import { createRenderer, type OutStream } from '../../../src/cli/progress-render.js';

function fakeStream(isTTY: boolean): OutStream & { text: string } {
  const s = {
    text: '',
    isTTY,
    columns: 100,
    write(t: string) {
      s.text += t;
      return true;
    },
  };
  return s;
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const MiB = 1 << 20;

describe('progress text', () => {
  it('shows bytes against their total with a percentage, and counts with their unit', () => {
    expect(amount({ stage: 's', kind: 'progress', done: 45 * MiB, total: 100 * MiB, unit: 'bytes' })).toBe(
      '45.0/100.0 MiB (45%)',
    );
    expect(
      amount({ stage: 's', kind: 'progress', done: 3 * 2 ** 30, total: 4 * 2 ** 30, unit: 'bytes' }),
    ).toBe('3.0/4.0 GiB (75%)');
    expect(amount({ stage: 'b', kind: 'progress', done: 30, total: 300, unit: 's' })).toBe('30/300 s (10%)');
    expect(amount({ stage: 's', kind: 'progress', done: 1234, unit: 'entries' })).toBe('1234 entries');
  });

  it('ends with a table of steps, outcomes and durations', () => {
    expect(
      stepTable(
        [
          { stage: 'rootfs', outcome: 'reused', ms: 2 },
          { stage: 'osconfig', outcome: 'built', ms: 61_000 },
        ],
        62_500,
      ).split('\n'),
    ).toEqual([
      '  step                 outcome       time',
      '  rootfs               reused       0.0 s',
      '  osconfig             built         1:01',
      '  total                              1:03',
    ]);
  });
});

describe('plain renderer', () => {
  it('prints one line per event, progress of a phase at most every 5 s, then the table', () => {
    const out = fakeStream(false);
    const c = clock();
    const r = createRenderer('auto', out, c.now);
    const events: [number, ProgressEvent][] = [
      [0, { stage: 'rootfs', kind: 'reused', message: 'reused (inputs unchanged)' }],
      [0, { stage: 'iso', kind: 'start', message: '/o/e.iso' }],
      [
        10,
        { stage: 'iso', kind: 'progress', message: 'convert', done: 1 * MiB, total: 10 * MiB, unit: 'bytes' },
      ],
      [
        1000,
        { stage: 'iso', kind: 'progress', message: 'convert', done: 2 * MiB, total: 10 * MiB, unit: 'bytes' },
      ],
      [
        6000,
        { stage: 'iso', kind: 'progress', message: 'convert', done: 7 * MiB, total: 10 * MiB, unit: 'bytes' },
      ],
      [
        100,
        {
          stage: 'iso',
          kind: 'progress',
          message: 'convert',
          done: 10 * MiB,
          total: 10 * MiB,
          unit: 'bytes',
        },
      ],
      [0, { stage: 'iso', kind: 'warning', message: 'slow disk' }],
      [0, { stage: 'iso', kind: 'done', elapsedMs: 7110 }],
    ];
    for (const [dt, e] of events) {
      c.t += dt;
      r.listener(e);
    }
    r.finish();
    expect(out.text.split('\n')).toEqual([
      'rootfs: reused (inputs unchanged)',
      'iso: running (/o/e.iso)',
      'iso: convert 1.0/10.0 MiB (10%)',
      'iso: convert 7.0/10.0 MiB (70%)',
      'iso: convert 10.0/10.0 MiB (100%)',
      'warning: slow disk (iso)',
      'iso: done in 7.1 s',
      '  step                 outcome       time',
      '  rootfs               reused       0.0 s',
      '  iso                  built        7.1 s',
      '  total                             7.1 s',
      '',
    ]);
    // No escape sequence ever reaches a file or a pipe.
    expect(out.text).not.toContain('\x1b');
  });
});

describe('json renderer', () => {
  it('writes one JSON object per event with a time and percent, then a summary of the steps', () => {
    const out = fakeStream(true);
    const c = clock(Date.UTC(2026, 0, 2, 3, 4, 5));
    const r = createRenderer('json', out, c.now);
    r.listener({ stage: 'qcow:cp', kind: 'start', message: '/o/cp.qcow2' });
    c.t += 500;
    r.listener({ stage: 'qcow:cp', kind: 'progress', message: 'convert', done: 1, total: 4, unit: 'bytes' });
    c.t += 500;
    r.listener({ stage: 'qcow:cp', kind: 'failed', elapsedMs: 1000, message: 'qemu-img exited with code 1' });
    r.finish();
    const lines = out.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { time: '2026-01-02T03:04:05.000Z', stage: 'qcow:cp', kind: 'start', message: '/o/cp.qcow2' },
      {
        time: '2026-01-02T03:04:05.500Z',
        stage: 'qcow:cp',
        kind: 'progress',
        message: 'convert',
        done: 1,
        total: 4,
        unit: 'bytes',
        percent: 25,
      },
      {
        time: '2026-01-02T03:04:06.000Z',
        stage: 'qcow:cp',
        kind: 'failed',
        elapsedMs: 1000,
        message: 'qemu-img exited with code 1',
      },
      {
        time: '2026-01-02T03:04:06.000Z',
        kind: 'summary',
        steps: [{ stage: 'qcow:cp', outcome: 'failed', ms: 1000 }],
        elapsedMs: 1000,
      },
    ]);
  });
});

describe('tty renderer', () => {
  it('keeps a live line per running step, redrawn in place with percent and ETA, and clears it at the end', () => {
    const out = fakeStream(true);
    const c = clock();
    const r = createRenderer('auto', out, c.now);
    r.listener({ stage: 'qcow:a', kind: 'start' });
    r.listener({ stage: 'qcow:b', kind: 'start' });
    // Two live lines now: both steps, with their elapsed time.
    expect(out.text).toMatch(/qcow:a {2}\[0\.0 s\]\n. qcow:b {2}\[0\.0 s\]\n$/);
    c.t += 1000;
    r.listener({
      stage: 'qcow:a',
      kind: 'progress',
      message: 'convert',
      done: 0,
      total: 100 * MiB,
      unit: 'bytes',
    });
    c.t += 4000;
    r.listener({
      stage: 'qcow:a',
      kind: 'progress',
      message: 'convert',
      done: 40 * MiB,
      total: 100 * MiB,
      unit: 'bytes',
    });
    // 40 MiB in 4 s: 60 MiB to go take 6 s.
    const live = out.text.slice(out.text.lastIndexOf('\x1b[J') + 3);
    expect(live).toMatch(
      /^. qcow:a {2}convert {2}40\.0\/100\.0 MiB \(40%\) {2}ETA 6\.0 s {2}\[5\.0 s\]\n. qcow:b {2}\[5\.0 s\]\n$/,
    );
    // Each redraw first moves up over the two live lines and erases them.
    expect(out.text).toContain('\r\x1b[2A\x1b[J');
    c.t += 1000;
    r.listener({ stage: 'qcow:a', kind: 'done', elapsedMs: 6000 });
    // The finished step is printed above the live area, which now holds only qcow:b.
    const after = out.text.slice(out.text.lastIndexOf('\x1b[J') + 3);
    expect(after).toMatch(/^qcow:a: done in 6\.0 s\n. qcow:b {2}\[6\.0 s\]\n$/);
    r.finish();
    const end = out.text.slice(out.text.lastIndexOf('\x1b[J') + 3);
    expect(end.split('\n')).toEqual([
      '  step                 outcome       time',
      '  qcow:a               built        6.0 s',
      '  qcow:b               running      6.0 s',
      '  total                             6.0 s',
      '',
    ]);
  });
});
