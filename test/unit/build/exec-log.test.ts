/**
 * Logs of the commands a build runs read as a timeline: each line carries the time it was written, and each
 * command ends with its exit status (or the signal that ended it) and how long it ran.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/engine/exec.js';

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

describe('command logs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'exec-log-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('stamp the command line, every line of output and the exit status with its duration', async () => {
    const log = join(dir, 'ok.log');
    await run('sh', ['-c', 'echo one; echo two >&2'], { logFile: log });
    const lines = (await readFile(log, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^${ISO} \\$ sh -c echo one; echo two >&2$`));
    expect(lines.slice(1, 3).sort()).toEqual([
      expect.stringMatching(new RegExp(`^${ISO} one$`)),
      expect.stringMatching(new RegExp(`^${ISO} two$`)),
    ]);
    expect(lines[3]).toMatch(new RegExp(`^${ISO} # sh: exit 0 \\(ran \\d+\\.\\d s\\)$`));
  });

  it('record a failing exit code and a kill', async () => {
    const log = join(dir, 'bad.log');
    await expect(run('sh', ['-c', 'exit 3'], { logFile: log })).rejects.toThrow(/exited with code 3/);
    await expect(run('sleep', ['5'], { logFile: log, timeoutMs: 100 })).rejects.toThrow(/timed out/);
    const text = await readFile(log, 'utf8');
    expect(text).toMatch(new RegExp(`^${ISO} # sh: exit 3 \\(ran \\d+\\.\\d s\\)$`, 'm'));
    expect(text).toMatch(new RegExp(`^${ISO} # sleep: timed out after 0 s \\(ran \\d+\\.\\d s\\)$`, 'm'));
  });
});
