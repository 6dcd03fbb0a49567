/**
 * The image every build/cut/boot test uses: built once from test/fixtures/build-manifests into a cache shared
 * by test runs (IMAGE_BUILDER_TEST_CACHE, default /var/tmp/airship-image-builder-test). Stage reuse makes a
 * second call (another test file, another run) cost only a digest check, so call it freely.
 */
import { join } from 'node:path';
import { type BuildResult, build, type Settings } from '../../src/api.js';
import { testBuildConfig } from './build-config.js';
import { ROOT } from './cli.js';

export const TEST_MANIFESTS = join(ROOT, 'test/fixtures/build-manifests');
export const TEST_CACHE = process.env.IMAGE_BUILDER_TEST_CACHE ?? '/var/tmp/airship-image-builder-test';

/** Settings of the shared test image (its reference: localhost/airship-test/image-builder:itest-debian_bookworm). */
export const TEST_SETTINGS: Partial<Settings> = {
  cacheDir: TEST_CACHE,
  dockerRegistry: 'localhost',
  imagePrefix: 'airship-test',
  imageTag: 'itest',
  distro: 'debian_bookworm',
};

let memo: Promise<BuildResult> | undefined;

/**
 * Builds (or reuses) the default test image.
 * @throws BuildError when the build fails; the test should fail with it.
 */
export function builtImage(onLine?: (line: string) => void): Promise<BuildResult> {
  memo ??= testBuildConfig(TEST_MANIFESTS, TEST_SETTINGS).then((config) =>
    build({
      config,
      onProgress: (e) => onLine?.(`${e.stage}: ${e.kind}${e.message ? ` ${e.message}` : ''}`),
    }),
  );
  return memo;
}
