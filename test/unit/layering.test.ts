// The layering (CLI → API → stages → engine / squashfs / config) is enforced by the linter: the project's own
// biome.json, run over fixture files placed in each folder, fails an upward import and passes a downward one.
import { beforeAll, describe, expect, it } from 'vitest';
import { lintFixtures } from '../helpers/lint-fixtures.js';

// [fixture file, what it imports, whether the linter must refuse it]
const CASES: [string, string, boolean][] = [
  ['src/engine/upward-api.ts', '../api/common.js', true],
  ['src/engine/upward-stages.ts', '../stages/names.js', true],
  ['src/engine/upward-public-api.ts', '../api.js', true],
  ['src/squashfs/upward-config.ts', '../config/load.js', true],
  ['src/squashfs/sideways-engine.ts', '../engine/docker.js', true],
  ['src/config/upward-api.ts', '../api/config.js', true],
  // The loader too: what it returns (LoadedConfig) is a config type, so no file of src/config is exempt.
  ['src/config/load.ts', '../api/config.js', true],
  ['src/config/schemas/upward-stages.ts', '../../stages/names.js', true],
  ['src/cpu/upward-api.ts', '../api/doctor.js', true],
  // The addon's loader is the squashfs writer's: src/cpu gets CPUID registers from the API instead.
  ['src/cpu/sideways-squashfs.ts', '../squashfs/native.js', true],
  ['src/cpu/sideways-engine.ts', '../engine/probe-kvm.js', true],
  ['src/stages/upward-api.ts', '../api/common.js', true],
  ['src/stages/upward-cli.ts', '../cli/run.js', true],
  ['src/api/upward-cli.ts', '../cli/run.js', true],
  // The top-level api.ts is in the API layer too.
  ['src/api.ts', './cli/run.js', true],
  ['src/engine/errors-only.ts', '../errors.js', false],
  ['src/engine/sibling.ts', './docker.js', false],
  ['src/stages/downward-engine.ts', '../engine/docker.js', false],
  ['src/api/downward-stages.ts', '../stages/names.js', false],
  ['src/cli/downward-api.ts', '../api.js', false],
  ['src/cpu/leaf-table.ts', '../compressors.js', false],
];

let report = '';
let status: number | null = null;

beforeAll(() => {
  ({ report, status } = lintFixtures(
    CASES.map(
      ([file, spec]) => [file, `import { used } from '${spec}';\n\nexport const again = used;\n`] as const,
    ),
  ));
}, 60_000);

describe('the linter enforces the layering', () => {
  it.each(CASES)('%s importing %s: refused %s', (file, _, refused) => {
    const flagged = new RegExp(`${file.replace(/[.]/g, '\\.')}:1:\\d+ lint/style/noRestrictedImports`);
    expect(flagged.test(report)).toBe(refused);
    if (refused) expect(report).toMatch(/× Layering: /);
  });

  it('fails the run (exit 1) when any file imports upward', () => {
    expect(status).toBe(1);
    expect(report).toContain(`Found ${CASES.filter(([, , refused]) => refused).length} errors.`);
  });
});
