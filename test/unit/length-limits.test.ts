// Small files with one job: the project's own biome.json refuses a source file over 400 lines and a function over
// 80 lines under src/ (not in tests), run over fixture files of each length.
import { beforeAll, describe, expect, it } from 'vitest';
import { lintFixtures } from '../helpers/lint-fixtures.js';

/** A function whose body has `n` statement lines. */
const fn = (name: string, n: number): string =>
  `export function ${name}(): number {\n  let x = 0;\n${'  x += 1;\n'.repeat(n - 2)}  return x;\n}\n`;
/** A file of `n` lines: short functions only. */
const lines = (n: number): string =>
  Array.from({ length: n }, (_, i) => `export const v${i} = ${i};`)
    .join('\n')
    .concat('\n');

// [fixture file, content, the rule that must flag it or null when it must pass]
const CASES: [string, string, string | null][] = [
  ['src/stages/long-function.ts', fn('long', 81), 'complexity/noExcessiveLinesPerFunction'],
  ['src/stages/fine-function.ts', fn('fine', 80), null],
  ['src/squashfs/long-file.ts', lines(401), 'style/noExcessiveLinesPerFile'],
  ['src/squashfs/fine-file.ts', lines(400), null],
  // Tests may be long: a long test file reads as a list of cases.
  ['test/unit/long-test.ts', `${lines(420)}${fn('helper', 90)}`, null],
];

let report = '';
let status: number | null = null;

beforeAll(() => {
  ({ report, status } = lintFixtures(CASES.map(([file, text]) => [file, text] as const)));
}, 60_000);

describe('the linter enforces file and function length', () => {
  it.each(CASES)('%s', (file, _, rule) => {
    const flagged = new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+ lint/`);
    expect(flagged.test(report)).toBe(rule !== null);
    if (rule) expect(report).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+ lint/${rule}`));
  });

  it('fails the run (exit 1) on a long file or function', () => {
    expect(status).toBe(1);
    expect(report).toContain(`Found ${CASES.filter(([, , rule]) => rule).length} errors.`);
  });
});
