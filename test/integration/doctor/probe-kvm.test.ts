/** The KVM probe's test guest is sound: under TCG it always reaches its exit port. */
import { describe, expect, it } from 'vitest';
import { guestRuns } from '../../../src/engine/probe-kvm.js';

describe('KVM probe guest', () => {
  it('runs to its exit port under TCG, so a KVM failure is KVM, not the probe', async () => {
    expect(await guestRuns('tcg', 30_000)).toBe(true);
  });
  it('reports why when the accelerator cannot run it', async () => {
    const r = await guestRuns('tcg', 1);
    expect(r).not.toBe(true);
    expect(String(r)).toMatch(/timed out|killed|exited/);
  });
});
