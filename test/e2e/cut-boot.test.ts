/**
 * End to end: the built default image → an ISO and a two-bundle QCOW set (ext4 with separate /boot; xfs
 * root) → each booted on BIOS and UEFI to a login prompt showing the configured host name. An artifact's two
 * boots run side by side, one guest per core. Times are printed and written to
 * `$E2E_TIMINGS` (default /var/tmp/cut-e2e-timings.json) for the report; BOOT_TIMEOUT bounds each boot.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CutArtifact, cutImage } from '../../src/api.js';
import { cutTestConfig } from '../integration/cut/fixture-config.js';
import { cutTestImage } from '../integration/cut/image.js';

const work = mkdtempSync('/var/tmp/cut-e2e-');
const bootTimeout = Number(process.env.BOOT_TIMEOUT ?? 900);
const timings: Record<string, unknown> = { bootTimeout };
let imageRef = '';

beforeAll(async () => {
  const t = Date.now();
  imageRef = await cutTestImage();
  timings.imageMs = Date.now() - t;
}, 3_600_000);

afterAll(() => {
  const file = process.env.E2E_TIMINGS ?? '/var/tmp/cut-e2e-timings.json';
  writeFileSync(file, `${JSON.stringify(timings, null, 2)}\n`);
  process.stdout.write(`cut/boot timings: ${JSON.stringify(timings)}\n`);
  rmSync(work, { recursive: true, force: true });
});

function record(kind: string, arts: CutArtifact[]) {
  timings[kind] = arts.map((a) => ({
    file: a.file.split('/').pop(),
    cutMs: a.cutMs,
    boots: a.boots,
  }));
}

describe('e2e: cut and boot', () => {
  it('boots the ISO on BIOS and UEFI to "cut-ephemeral login:"', async () => {
    const settings = {
      imageType: 'iso' as const,
      outDir: join(work, 'out'),
      cacheDir: join(work, 'cache'),
      bootTimeout,
    };
    const arts = await cutImage({
      settings,
      config: cutTestConfig({ imageRef, settings }),
      onProgress: (e) => process.stdout.write(`[${e.stage}] ${e.kind} ${e.message ?? ''}\n`),
    });
    record('iso', arts);
    expect(arts).toHaveLength(1);
    expect(arts[0]?.boots.map((b) => b.firmware)).toEqual(['bios', 'uefi']);
  }, 3_600_000);

  it('boots each QCOW (ext4 + /boot, xfs root) on BIOS and UEFI to its seed host name', async () => {
    const settings = {
      imageType: 'qcow' as const,
      outDir: join(work, 'out'),
      cacheDir: join(work, 'cache'),
      bootTimeout,
    };
    const arts = await cutImage({
      settings,
      config: cutTestConfig({ imageRef, settings }),
      onProgress: (e) => process.stdout.write(`[${e.stage}] ${e.kind} ${e.message ?? ''}\n`),
    });
    record('qcow', arts);
    expect(arts.map((a) => a.file.split('/').pop())).toEqual(['control-plane.qcow2', 'data-plane.qcow2']);
    for (const a of arts) expect(a.boots.map((b) => b.firmware)).toEqual(['bios', 'uefi']);
  }, 3_600_000);
});
