/**
 * The image cut tests read: CUT_TEST_IMAGE when set (a development stand-in made by make-dev-image.sh),
 * otherwise the shared built test image from test/helpers/built-image.ts (built once per run).
 */
import { builtImage } from '../../helpers/built-image.js';

let memo: Promise<string> | undefined;

/** @throws BuildError when the shared image cannot be built: the tests must fail, not skip. */
export function cutTestImage(): Promise<string> {
  memo ??= (async () => process.env.CUT_TEST_IMAGE ?? (await builtImage()).imageRef)();
  return memo;
}
