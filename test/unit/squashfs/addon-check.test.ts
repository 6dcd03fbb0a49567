/** The addon's exported constants against the TypeScript tables: the real addon agrees, a drifted one is refused. */
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, COMPRESSORS } from '../../../src/compressors.js';
import { checkConstants, constantDiffs, expectedConstants } from '../../../src/squashfs/addon-check.js';
import { native } from '../../../src/squashfs/native.js';

describe('addon constants', () => {
  it('the built addon exports exactly the TypeScript tables', () => {
    expect(constantDiffs(native().constants, expectedConstants())).toEqual([]);
    expect(native().constants.compressors.zstd).toEqual({ id: 6, ...COMPRESSORS.zstd.levels });
    expect(native().constants.blockSize).toEqual(BLOCK_SIZE);
  });

  it('refuses an addon whose level range differs, naming the number, both values and the rebuild', () => {
    const drifted = structuredClone(expectedConstants());
    (drifted.compressors.zstd as { max: number }).max = 19;
    expect(() => checkConstants(drifted, '/x/airship_native.node')).toThrow(
      expect.objectContaining({
        code: 'ERR_NATIVE_MISMATCH',
        message:
          "native addon /x/airship_native.node does not match this build's tables (rebuild it: npm run build:native): compressors.zstd.max is 19 in the addon, 22 here",
      }),
    );
  });

  it('names a layout slot, a missing compressor and an extra one', () => {
    const drifted = structuredClone(expectedConstants());
    drifted.item.length = 4;
    delete drifted.compressors.lz4;
    drifted.compressors.lzo = { id: 3 };
    expect(constantDiffs(drifted, expectedConstants())).toEqual([
      'compressors.lz4 is missing in the addon, {"id":5} here',
      'compressors.lzo is {"id":3} in the addon, undefined here',
      'item.length is 4 in the addon, 3 here',
    ]);
  });

  it('refuses an addon without constants (built before they were exported)', () => {
    expect(() => checkConstants(undefined, 'a.node')).toThrow(/constants is missing in the addon/);
  });
});
