/**
 * Runs the project's own biome.json over fixture files in a temp folder laid out like the repository, so a test
 * can show that the linter refuses (or allows) what a fixture does.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './cli.js';

export interface LintRun {
  /** biome's output, every diagnostic included. */
  report: string;
  status: number | null;
}

/** Lints `files` ([path in the repository, content]) with the project's biome.json. */
export function lintFixtures(files: readonly (readonly [string, string])[]): LintRun {
  const work = mkdtempSync(join(tmpdir(), 'lint-fixtures-'));
  try {
    copyFileSync(join(ROOT, 'biome.json'), join(work, 'biome.json'));
    for (const [file, text] of files) {
      mkdirSync(dirname(join(work, file)), { recursive: true });
      writeFileSync(join(work, file), text);
    }
    const r = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'biome'),
      ['lint', '--max-diagnostics=none', '.'],
      {
        cwd: work,
        encoding: 'utf8',
      },
    );
    return { report: `${r.stdout}${r.stderr}`, status: r.status };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
