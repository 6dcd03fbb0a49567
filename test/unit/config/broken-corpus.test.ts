import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plantCanary } from '../../helpers/canary.js';
import { ROOT, runCli } from '../../helpers/cli.js';
import { FIXTURES } from './fixtures.js';

/**
 * Each folder of test/fixtures/config/broken holds a manifests folder with one mistake (many of them hostile,
 * aiming at the host canary) and a case.json: `expect` lists text the error output must contain, the first
 * being the file (relative to the manifests folder) with its line:column; `position: false` for a finding about
 * a whole file or setting, which has none; `absent` text that must not appear (a plaintext password);
 * `args` extra CLI arguments, `workdir` a replacement --workdir.
 */
interface Case {
  expect: string[];
  position?: boolean;
  absent?: string[];
  args?: string[];
  workdir?: string;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const CORPUS = join(FIXTURES, 'broken');
const cases = readdirSync(CORPUS).sort();

describe('broken configurations', () => {
  it('number at least 90', () => {
    expect(cases.length).toBeGreaterThanOrEqual(90);
  });

  it.each(cases)('%s: config validate exits 2 naming file, line and problem', (name) => {
    const c = JSON.parse(readFileSync(join(CORPUS, name, 'case.json'), 'utf8')) as Case;
    const workdir = c.workdir ?? relative(ROOT, join(CORPUS, name, 'manifests'));
    const canary = plantCanary();
    const r = runCli(['config', 'validate', '--workdir', workdir, ...(c.args ?? [])]);
    expect(r.stdout).toBe('');
    for (const text of c.expect) expect(r.stderr).toContain(text);
    for (const text of c.absent ?? []) expect(r.stderr).not.toContain(text);
    const named = c.expect[0]!.replace(/(:\d+:\d+)?:?$/, '');
    const line = r.stderr.split('\n').find((l) => l.startsWith('error: ') && l.includes(named));
    expect(line, `an error line names ${named}`).toBeDefined();
    if (c.position !== false) expect(line).toMatch(new RegExp(`${escapeRe(named)}:\\d+:\\d+: `));
    expect(r.status).toBe(2);
    canary.check();
  });

  // The commands that build check the whole configuration first: a mistake costs no Docker call (the engine
  // address below answers nothing) and gets the same answer as `config validate`.
  it.each([
    ['build', 'bad-yaml'],
    ['build', 'missing-required-key'],
    ['cut-image', 'unknown-compressor'],
    ['cut-image', 'overlapping-partitions'],
  ])('%s exits 2 on %s before touching Docker', (command, name) => {
    const c = JSON.parse(readFileSync(join(CORPUS, name, 'case.json'), 'utf8')) as Case;
    const workdir = relative(ROOT, join(CORPUS, name, 'manifests'));
    const r = runCli([command, '--workdir', workdir], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    for (const text of c.expect) expect(r.stderr).toContain(text);
    expect(r.stderr).not.toMatch(/docker/i);
    expect(r.status).toBe(2);
  });
});
