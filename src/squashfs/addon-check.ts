/**
 * The check that the native addon and the TypeScript tables agree: compressor ids, level ranges and defaults,
 * block size limits, the raw bit and the slots of every number array that crosses the boundary. The addon exports
 * its numbers (native/constants.cc); an addon built from other sources would write wrong images or misread
 * records, so a mismatch refuses the load with every differing number named.
 */
import { BLOCK_SIZE, COMPRESSOR_NAMES, COMPRESSORS } from '../compressors.js';
import { INODE, type NativeConstants, SCAN } from './native.js';
import { BLOCKS, FRAGMENT, ITEM, PART, RAW_BIT } from './protocol.js';

/** What the addon must export, from the TypeScript side's tables. */
export function expectedConstants(): NativeConstants {
  return {
    compressors: Object.fromEntries(
      COMPRESSOR_NAMES.map((c) => {
        const { id, levels } = COMPRESSORS[c];
        return [c, levels ? { id, ...levels } : { id }];
      }),
    ),
    blockSize: { ...BLOCK_SIZE },
    rawBit: RAW_BIT,
    item: { ...ITEM },
    records: { blocks: BLOCKS, fragment: FRAGMENT, part: PART },
    inode: { ...INODE },
    scan: { ...SCAN },
  };
}

/** Each place where `got` and `want` differ, as "path is X in the addon, Y here". */
export function constantDiffs(got: unknown, want: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (!isObj(want) || !isObj(got)) {
    return Object.is(got, want)
      ? []
      : [
          `${path || 'constants'} is ${JSON.stringify(got) ?? 'missing'} in the addon, ${JSON.stringify(want)} here`,
        ];
  }
  const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
  return [...keys].flatMap((k) => constantDiffs(got[k], want[k], path ? `${path}.${k}` : k));
}

/**
 * @throws Error naming the addon file and every number that differs (code ERR_NATIVE_MISMATCH).
 */
export function checkConstants(got: unknown, addonPath: string): void {
  const diffs = constantDiffs(got, expectedConstants());
  if (diffs.length === 0) return;
  throw Object.assign(
    new Error(
      `native addon ${addonPath} does not match this build's tables (rebuild it: npm run build:native): ${diffs.join('; ')}`,
    ),
    { code: 'ERR_NATIVE_MISMATCH' },
  );
}
