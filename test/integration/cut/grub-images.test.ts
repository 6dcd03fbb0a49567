/**
 * GRUB's images are made once per layout from the cut's tree and shared by its bundles, unless a bundle's
 * osconfig layer changes a module folder: that bundle's MBR then comes from its own changed boot.img.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutImage } from '../../../src/api.js';
import { convertToRaw } from '../../../src/engine/qemu-img.js';
import type { OsconfigLayer } from '../../../src/stages/osconfig.js';
import { cutTestConfig } from './fixture-config.js';
import { cutTestImage } from './image.js';

const work = mkdtempSync('/var/tmp/cut-grub-itest-');
const BOOT_IMG = 'usr/lib/grub/i386-pc/boot.img';
/** In the part of boot.img that goes into the MBR (after the BIOS parameter block, before the partition table). */
const MARK_AT = 0x180;
let imageRef = '';
let bootImg = Buffer.alloc(0);

beforeAll(async () => {
  imageRef = await cutTestImage();
  const id = execFileSync('docker', ['create', imageRef, 'true'], { encoding: 'utf8' }).trim();
  try {
    execFileSync('docker', ['cp', `${id}:/${BOOT_IMG}`, join(work, 'boot.img')]);
  } finally {
    execFileSync('docker', ['rm', id]);
  }
  bootImg = readFileSync(join(work, 'boot.img'));
}, 3_600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The first sector of a qcow2 disk. */
async function mbrOf(file: string): Promise<Buffer> {
  const raw = `${file}.raw`;
  await convertToRaw(file, raw);
  const fd = openSync(raw, 'r');
  const out = Buffer.alloc(512);
  readSync(fd, out, 0, 512, 0);
  closeSync(fd);
  rmSync(raw);
  return out;
}

describe('GRUB images of a cut', () => {
  it("are shared by the bundles, except one whose layer changed the BIOS modules' boot.img", async () => {
    const marked = Buffer.from(bootImg);
    marked[MARK_AT] = (bootImg[MARK_AT] ?? 0) ^ 0xff;
    const s = {
      imageType: 'qcow' as const,
      outDir: join(work, 'out'),
      cacheDir: join(work, 'cache'),
      cutDir: join(work, 'cache'),
      bootTimeout: 0,
    };
    const config = cutTestConfig({ imageRef, settings: s });
    const changed = config.qcowBundles[0]?.name;
    const out = await cutImage({
      settings: s,
      config,
      osconfig: async (_ref, bundle, prefix): Promise<OsconfigLayer> => {
        if (bundle.name !== changed) return { deleted: [], tars: [] };
        const staged = join(work, 'staged');
        mkdirSync(dirname(join(staged, BOOT_IMG)), { recursive: true });
        writeFileSync(join(staged, BOOT_IMG), marked);
        const tar = `${prefix}-0.tar`;
        mkdirSync(dirname(tar), { recursive: true });
        execFileSync('tar', ['-c', '-f', tar, '-C', staged, '--owner=0', '--group=0', BOOT_IMG]);
        return { deleted: [], tars: [tar] };
      },
    });
    expect(out).toHaveLength(2);
    for (const a of out) {
      const mbr = await mbrOf(a.file);
      const want = a.file.endsWith(`/${changed}.qcow2`) ? marked : bootImg;
      expect(mbr[MARK_AT], a.file).toBe(want[MARK_AT]);
    }
  });
});
