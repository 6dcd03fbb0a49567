/** SOURCE_DATE_EPOCH is read one way by every command: unset or empty means none, anything malformed is refused. */
import { describe, expect, it } from 'vitest';
import { sourceDateEpoch } from '../../src/api/cut-context.js';
import { UsageError } from '../../src/errors.js';
import { envSourceDateEpoch } from '../../src/source-date-epoch.js';

describe('envSourceDateEpoch', () => {
  it('reads whole seconds, and nothing when unset or empty', () => {
    expect(envSourceDateEpoch({ SOURCE_DATE_EPOCH: '1735689600' })).toBe(1735689600);
    expect(envSourceDateEpoch({ SOURCE_DATE_EPOCH: '0' })).toBe(0);
    expect(envSourceDateEpoch({})).toBeUndefined();
    expect(envSourceDateEpoch({ SOURCE_DATE_EPOCH: '' })).toBeUndefined();
  });

  it.each(['yesterday', '-1', '1.5', ' 1', '4294967296', '1e9'])('refuses %j as a usage error', (v) => {
    expect(() => envSourceDateEpoch({ SOURCE_DATE_EPOCH: v })).toThrow(UsageError);
    expect(() => envSourceDateEpoch({ SOURCE_DATE_EPOCH: v })).toThrow(/SOURCE_DATE_EPOCH: expected seconds/);
  });
});

describe("the cut's epoch", () => {
  const image = { created: '2025-01-01T00:00:00Z' } as Parameters<typeof sourceDateEpoch>[0];
  const withEnv = <T>(v: string | undefined, f: () => T): T => {
    const old = process.env.SOURCE_DATE_EPOCH;
    if (v === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = v;
    try {
      return f();
    } finally {
      if (old === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = old;
    }
  };

  it("is SOURCE_DATE_EPOCH when set, else the image's creation time", () => {
    expect(withEnv('1700000000', () => sourceDateEpoch(image))).toBe(1700000000);
    expect(withEnv(undefined, () => sourceDateEpoch(image))).toBe(1735689600);
  });

  it('refuses a malformed SOURCE_DATE_EPOCH instead of falling back to the creation time', () => {
    expect(() => withEnv('tomorrow', () => sourceDateEpoch(image))).toThrow(UsageError);
  });
});
