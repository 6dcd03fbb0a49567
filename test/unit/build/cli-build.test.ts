import { describe, expect, it } from 'vitest';
import { timingTable } from '../../../src/cli/commands/build.js';

describe('build CLI', () => {
  it('prints one timing row per stage and a total', () => {
    const table = timingTable({
      imageRef: 'r',
      imageId: 'i',
      digests: { rootfs: 'a', image: 'b', osconfig: 'c', livecd: 'd' },
      configDigest: 'x',
      logFile: '/l',
      timings: [
        { stage: 'rootfs', outcome: 'reused', ms: 2 },
        { stage: 'osconfig', outcome: 'built', ms: 61_000 },
      ],
    });
    expect(table.split('\n')).toEqual([
      '  stage      outcome      time',
      '  rootfs     reused       0.0 s',
      '  osconfig   built       61.0 s',
      '  total                  61.0 s',
    ]);
  });
});
