import { describe, expect, it } from 'vitest';
import { guestCpus } from '../../../src/stages/boot.js';

describe('guestCpus', () => {
  it('gives each guest booting at once the cores it has to itself, two at most, one at least', () => {
    expect(guestCpus(2, 2)).toBe(1);
    expect(guestCpus(2, 1)).toBe(2);
    expect(guestCpus(1, 2)).toBe(1);
    expect(guestCpus(1, 1)).toBe(1);
    expect(guestCpus(16, 2)).toBe(2);
    expect(guestCpus(3, 2)).toBe(1);
    expect(guestCpus(4, 0)).toBe(2);
  });
});
