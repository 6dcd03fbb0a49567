import { configDefaults, defineConfig } from 'vitest/config';

// The tool image's e2e (build the image, build the bundled defaults in it, cut and boot both kinds) passes in
// about 18 minutes here; with it, the suite took 73 minutes on a warm machine, which leaves a cold CI machine
// (shared test image and tool image built from nothing) no margin under its 90-minute limit. It runs with
// `npm run test:tool-image` (TOOL_IMAGE_E2E=1) until the rest of the suite is cheaper (issue 17).
const TOOL_IMAGE_E2E = 'test/e2e/tool-image.test.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(process.env.TOOL_IMAGE_E2E === '1' ? [] : [TOOL_IMAGE_E2E])],
    testTimeout: 120_000,
    hookTimeout: 1_800_000,
    // Integration and e2e files share one Docker daemon and the built image; run files one at a time.
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
