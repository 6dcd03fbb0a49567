/**
 * Hostile images: the shared test image plus one layer of symlinks aimed at the host canary, cut through the
 * CLI (BOOT_TIMEOUT=0). A link in the last component of a file the cut writes is replaced inside the tree
 * (exit 0, the artifact carries our file); a link in a folder the cut writes into, a mount point, a file
 * the cut reads (kernel, GRUB module, live-CD boot image) or a file a tool would copy by following it (the
 * ESP) is refused (exit 1 naming it). The host canary must be untouched either way. Several links share one
 * image where they cannot mask each other, because each QCOW cut costs a minute.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ext4Cat } from '../../../src/engine/mkfs.js';
import { checkQcow2, convertToRaw } from '../../../src/engine/qemu-img.js';
import { builtImage } from '../../helpers/built-image.js';
import { CANARY_DIR, CANARY_FILE, CANARY_FOLDER, plantCanary } from '../../helpers/canary.js';
import { ROOT, runCli } from '../../helpers/cli.js';
import { imageVariant } from '../../helpers/image-variant.js';

const MiB = 1024 * 1024;
const PREFIX = 'aib-hostile';
const DISTRO = 'debian_bookworm';
const work = mkdtempSync('/var/tmp/hostile-images-');
const made: string[] = [];
let base = '';

interface HostileCase {
  name: string;
  type: 'qcow' | 'iso';
  /** Shell run as root in a container of the test image; the container is committed as the hostile image. */
  setup: string;
  exit: 0 | 1;
  /** For exit 1: what stderr must say (the path in the image). */
  message?: string;
  /** For exit 0: checks of the artifact. */
  verify?: (outDir: string) => Promise<void>;
}

async function verifyQcow(outDir: string): Promise<void> {
  const file = join(outDir, 'control-plane.qcow2');
  await checkQcow2(file);
  const raw = join(work, 'disk.raw');
  await convertToRaw(file, raw);
  try {
    // The control-plane layout: /boot at 516 MiB, / at 1284 MiB (both ext4).
    const fstab = await ext4Cat(raw, '/etc/fstab', 1284 * MiB);
    expect(fstab).toMatch(/^UUID=\S+\s+\/\s+ext4/m);
    expect(fstab).not.toContain('canary');
    const grub = await ext4Cat(raw, '/grub/grub.cfg', 516 * MiB);
    expect(grub).toContain('menuentry');
  } finally {
    rmSync(raw, { force: true });
  }
}

async function verifyIso(outDir: string): Promise<void> {
  const iso = join(outDir, 'ephemeral.iso');
  for (const [inIso, check] of [
    ['/openstack/latest/meta_data.json', (t: string) => expect(JSON.parse(t).hostname).toBeTypeOf('string')],
    ['/openstack/latest/user_data', (t: string) => expect(t).not.toContain('canary')],
  ] as const) {
    const out = join(work, 'extracted');
    const r = spawnSync('xorriso', ['-indev', iso, '-osirrox', 'on', '-extract', inIso, out]);
    expect(r.status).toBe(0);
    check(readFileSync(out, 'utf8'));
    rmSync(out, { force: true });
  }
}

const CASES: HostileCase[] = [
  {
    name: 'qcow: /etc/fstab, /boot/grub/grub.cfg and the ESP BOOTX64.EFI are links to a host file (replaced)',
    type: 'qcow',
    setup: [
      `ln -sf ${CANARY_FILE} /etc/fstab`,
      'mkdir -p /boot/grub /boot/efi/EFI/BOOT',
      `ln -sf ../../../..${CANARY_FILE} /boot/grub/grub.cfg`,
      `ln -sf ${CANARY_FILE} /boot/efi/EFI/BOOT/BOOTX64.EFI`,
    ].join(' && '),
    exit: 0,
    verify: verifyQcow,
  },
  {
    name: 'qcow: /boot is a link to a host folder',
    type: 'qcow',
    setup: `cp -a /boot /tmp/boot && rm -rf /boot && ln -s /tmp/aib-canary /boot`,
    exit: 1,
    message: "the image's /boot is a symlink",
  },
  {
    name: 'qcow: the ESP folder /boot/efi is a link to a host folder',
    type: 'qcow',
    setup: `rm -rf /boot/efi && ln -s ${CANARY_FOLDER} /boot/efi`,
    exit: 1,
    message: "the image's /boot/efi is a symlink",
  },
  {
    name: 'qcow: /boot/grub is a link to a host folder',
    type: 'qcow',
    setup: `rm -rf /boot/grub && ln -s /tmp/aib-canary /boot/grub`,
    exit: 1,
    message: "the image's /boot/grub is a symlink",
  },
  {
    name: 'qcow: the newest kernel and its initrd are links to host files',
    type: 'qcow',
    setup: `ln -s ${CANARY_FILE} /boot/vmlinuz-99.0-hostile && ln -s /etc/shadow /boot/initrd.img-99.0-hostile`,
    exit: 1,
    message: "the image's /boot/vmlinuz-99.0-hostile is a symlink",
  },
  {
    name: 'qcow: a GRUB module grub-mkimage reads is a link to a host file',
    type: 'qcow',
    setup: `ln -sf ${CANARY_FILE} /usr/lib/grub/x86_64-efi/normal.mod`,
    exit: 1,
    message: "the image's /usr/lib/grub/x86_64-efi/normal.mod is a symlink",
  },
  {
    name: 'qcow: a file on the ESP is a link to a host file (mcopy would copy the host file)',
    type: 'qcow',
    setup: `mkdir -p /boot/efi/EFI && ln -s ${CANARY_FILE} /boot/efi/EFI/grab`,
    exit: 1,
    message: "the image's /boot/efi/EFI/grab is a symlink",
  },
  {
    // The bundle's osconfig layer is archived by the image's own tar: this one answers with an entry below a
    // link the image has to a host folder (GNU tar would follow it).
    name: "qcow: the image's tar puts an osconfig layer entry below a link to a host folder",
    type: 'qcow',
    setup: [
      `ln -s ${CANARY_FOLDER} /hostile`,
      'mkdir -p /var/lib/aib-evil/hostile',
      'echo planted > /var/lib/aib-evil/hostile/planted',
      'mv /usr/bin/tar /usr/bin/tar.real',
      `printf '#!/bin/sh\\ncd /var/lib/aib-evil && exec /usr/bin/tar.real -c -f - hostile/planted\\n' > /usr/bin/tar`,
      'chmod 755 /usr/bin/tar',
    ].join(' && '),
    exit: 1,
    message: 'osconfig layer: entry /hostile/planted lies below /hostile, which is a symlink',
  },
  {
    name: "qcow: the image's tar makes a layer symlink to a host folder, then an entry below it",
    type: 'qcow',
    setup: [
      'mkdir -p /var/lib/aib-evil/hostile',
      `ln -s ${CANARY_FOLDER} /var/lib/aib-evil/link`,
      'echo planted > /var/lib/aib-evil/hostile/planted',
      'mv /usr/bin/tar /usr/bin/tar.real',
      `printf '#!/bin/sh\\ncd /var/lib/aib-evil && /usr/bin/tar.real -c -f - --transform=s,hostile,link, link hostile/planted\\n' > /usr/bin/tar`,
      'chmod 755 /usr/bin/tar',
    ].join(' && '),
    exit: 1,
    message: 'osconfig layer: entry /link/planted lies below /link, which the layer made a symlink',
  },
  {
    name: 'iso: the config-drive files are links to a host file (replaced)',
    type: 'iso',
    setup: [
      'mkdir -p /livecd/openstack/latest',
      `ln -s ${CANARY_FILE} /livecd/openstack/latest/meta_data.json`,
      `ln -s ../../../..${CANARY_FILE} /livecd/openstack/latest/user_data`,
    ].join(' && '),
    exit: 0,
    verify: verifyIso,
  },
  {
    name: 'iso: the config-drive folder /livecd/openstack is a link to a host folder',
    type: 'iso',
    setup: `ln -s ${CANARY_FOLDER} /livecd/openstack`,
    exit: 1,
    message: "the image's /livecd/openstack is a symlink",
  },
  {
    name: 'iso: the ESP image xorriso appends is a link to a host file',
    type: 'iso',
    setup: `ln -sf ${CANARY_FILE} /livecd/boot/grub/efi.img`,
    exit: 1,
    message: "the image's /livecd/boot/grub/efi.img is a symlink",
  },
];

/** Commits the test image plus `setup` as `localhost/aib-hostile/image-builder:<tag>-debian_bookworm`. */
function hostileImage(tag: string, setup: string): void {
  made.push(imageVariant(base, `localhost/${PREFIX}/image-builder:${tag}-${DISTRO}`, setup));
}

beforeAll(async () => {
  base = (await builtImage()).imageRef;
  // A 4 GiB control-plane bundle (the default layout: separate /boot, ESP at /boot/efi) keeps each cut short.
  const bundle = join(work, 'manifests/qcow-bundle/control-plane');
  cpSync(join(ROOT, 'defaults/manifests/qcow-bundle/control-plane'), bundle, { recursive: true });
  const vars = join(bundle, 'qcow-vars.yaml');
  writeFileSync(vars, readFileSync(vars, 'utf8').replace(/^qcow_capacity:.*$/m, 'qcow_capacity: 4G'));
}, 3_600_000);

afterAll(() => {
  for (const ref of made) spawnSync('docker', ['rmi', '-f', ref]);
  rmSync(work, { recursive: true, force: true });
});

describe('hostile images through cut-image', () => {
  it.each(CASES.map((c, n) => [c.name, c, n] as const))(
    '%s',
    async (_name, c, n) => {
      const tag = `case${n}`;
      hostileImage(tag, c.setup);
      const outDir = join(work, `out-${n}`);
      const canary = plantCanary();
      const CANARY_TEXT = readFileSync(CANARY_FILE, 'utf8');
      const r = runCli(
        [
          'cut-image',
          '--type',
          c.type,
          '--workdir',
          join(work, 'manifests'),
          '--qcow-names',
          'control-plane',
          '--registry',
          'localhost',
          '--image-prefix',
          PREFIX,
          '--image-tag',
          tag,
          '--distro',
          DISTRO,
          '--out-dir',
          outDir,
          '--cache-dir',
          join(work, 'cache'),
        ],
        { BOOT_TIMEOUT: '0' },
      );
      // Content first: other test files running at the same time re-plant the shared canary (new inodes and
      // times, same content), which check() cannot tell from a hostile write.
      expect(readFileSync(CANARY_FILE, 'utf8')).toBe(CANARY_TEXT);
      expect(readdirSync(CANARY_FOLDER)).toEqual(['keep.txt']);
      expect(readdirSync(CANARY_DIR).sort()).toEqual(['canary.txt', 'victim']);
      canary.check();
      if (r.status !== c.exit) throw new Error(`exit ${r.status}, expected ${c.exit}:\n${r.stderr}`);
      if (c.message) expect(r.stderr).toContain(c.message);
      await c.verify?.(outDir);
    },
    900_000,
  );
});
