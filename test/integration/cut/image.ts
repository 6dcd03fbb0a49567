/**
 * The image cut tests read: CUT_TEST_IMAGE when set (a development stand-in made by make-dev-image.sh),
 * otherwise the shared built test image from test/helpers/built-image.ts (built once per run).
 */
interface BuiltImageModule {
  builtImage: () => Promise<{ imageRef: string }>;
}

let memo: Promise<string> | undefined;

/** @throws Error when neither is available: the tests must fail, not skip. */
export function cutTestImage(): Promise<string> {
  memo ??= (async () => {
    const fromEnv = process.env.CUT_TEST_IMAGE;
    if (fromEnv) return fromEnv;
    const helper = '../../helpers/built-image.js';
    const mod = (await import(/* @vite-ignore */ helper).catch((err: Error) => {
      throw new Error(
        `no image to cut: set CUT_TEST_IMAGE or provide test/helpers/built-image.ts (${err.message})`,
      );
    })) as BuiltImageModule;
    return (await mod.builtImage()).imageRef;
  })();
  return memo;
}
