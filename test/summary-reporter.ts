import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** How many of the slowest files the closing lines name: CI's time budget is spent there. */
const SLOWEST = 15;

/**
 * Prints the plain closing lines CI readers understand: the slowest files with their durations, then
 * `tests: N passed, N failed, N skipped`.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') failed++;
        else skipped++;
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    const slow = modules
      .map((m) => ({ file: relative(process.cwd(), m.moduleId), s: m.diagnostic().duration / 1000 }))
      .sort((a, b) => b.s - a.s)
      .slice(0, SLOWEST);
    const total = modules.reduce((t, m) => t + m.diagnostic().duration / 1000, 0);
    process.stdout.write(`\nslowest files (of ${Math.round(total)} s in all):\n`);
    for (const { file, s } of slow) process.stdout.write(`${s.toFixed(0).padStart(7)} s  ${file}\n`);
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
