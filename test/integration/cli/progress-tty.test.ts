/**
 * The TTY renderer under a real pseudo-terminal (`script` from bsdutils): a `squash` run draws a live line for
 * its step and erases it in place, prints the finished step above it, and ends with the table of steps; the
 * same run into a pipe prints plain lines without a single escape sequence.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'aib-progress-tty-'));
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const ESC = '\x1b';

describe('progress on a terminal', () => {
  const src = join(work, 'tree');
  mkdirSync(join(src, 'etc'), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(src, 'etc', `f${i}`), `file ${i}\n`.repeat(2000));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('draws and erases a live line per running step, then prints the table', () => {
    expect(spawnSync('script', ['--version']).status, 'script (bsdutils) must be installed').toBe(0);
    const out = join(work, 'tty.squashfs');
    const cmd = [process.execPath, MAIN, 'squash', src, out].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm', COLUMNS: '100' },
    });
    expect(r.status, r.stdout).toBe(0);
    const text = r.stdout.replace(/\r\n/g, '\n');
    // The live line: a spinner, the step, its elapsed time; then moved over and erased in place.
    expect(text).toMatch(/[-\\|/] squashfs {2}.*\[\d+\.\d s\]/);
    expect(text).toContain('\r\x1b[1A\x1b[J');
    // The finished step replaces the erased live line.
    expect(text).toMatch(new RegExp(`${ESC}\\[Jsquashfs: done in \\d+\\.\\d s$`, 'm'));
    expect(text).toMatch(/^ {2}step +outcome +time\n {2}squashfs +built +\d+\.\d s\n {2}total +\d+\.\d s$/m);
  });

  it('prints plain lines into a pipe', () => {
    const r = runCli(['squash', src, join(work, 'pipe.squashfs')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).toMatch(/^squashfs: running \(writing .*pipe\.squashfs\)$/m);
    expect(r.stderr).toMatch(/^squashfs: done in \d+\.\d s$/m);
  });
});
