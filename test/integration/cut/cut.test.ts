/**
 * Cutting against a real Docker Engine and reading the results back with independent tools: xorriso for
 * El Torito entries, qemu-img check, sfdisk for the GPT, debugfs for the fstab, md5sum -c.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, cutImage, UsageError } from '../../../src/api.js';
import { CUT_LABEL, containersLabelled } from '../../../src/engine/container-io.js';
import { ext4Cat, ext4Exists, probeFilesystem } from '../../../src/engine/mkfs.js';
import { checkQcow2, convertToRaw, qemuImgInfo } from '../../../src/engine/qemu-img.js';
import { readPartitionTable } from '../../../src/engine/sfdisk.js';
import { reportElTorito, volumeId } from '../../../src/engine/xorriso.js';
import { planDisk } from '../../../src/stages/qcow-layout.js';
import { controlPlaneLayout, cutTestConfig } from './fixture-config.js';
import { cutTestImage } from './image.js';

const work = mkdtempSync('/var/tmp/cut-itest-');
let imageRef = '';
const settings = (type: 'iso' | 'qcow', sub: string) => ({
  imageType: type,
  outDir: join(work, sub),
  cacheDir: join(work, 'cache'),
  // On disk, where the abort case looks for leftovers (the e2e cuts work in memory, CUT_DIR's default).
  cutDir: join(work, 'cache'),
  bootTimeout: 0,
});

beforeAll(async () => {
  imageRef = await cutTestImage();
}, 3_600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function md5Verifies(dir: string, file: string): boolean {
  return spawnSync('md5sum', ['-c', `${file}.md5sum`], { cwd: dir }).status === 0;
}

describe('cut-image --type iso', () => {
  it('writes a hybrid ISO with BIOS and UEFI El Torito entries, the config-drive and sidecars', async () => {
    const s = settings('iso', 'iso');
    const config = cutTestConfig({ imageRef, settings: s });
    const [a] = await cutImage({ settings: s, config });
    if (!a) throw new Error('no artifact');
    expect(a.file).toBe(join(s.outDir, 'ephemeral.iso'));
    const et = await reportElTorito(a.file);
    expect(et.entries.map((e) => e.platform)).toEqual(['BIOS', 'UEFI']);
    expect(await volumeId(a.file)).toBe('config-2');
    const meta = spawnSync('xorriso', [
      '-indev',
      a.file,
      '-osirrox',
      'on',
      '-extract',
      '/openstack/latest/meta_data.json',
      join(work, 'md.json'),
    ]);
    expect(meta.status).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'md.json'), 'utf8')).hostname).toBe('cut-ephemeral');
    expect(md5Verifies(s.outDir, 'ephemeral.iso')).toBe(true);
    const profile = JSON.parse(readFileSync(join(s.outDir, 'ephemeral.json'), 'utf8'));
    expect(profile.image.ref).toBe(imageRef);
    expect(profile.configDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(profile.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(readdirSync(s.outDir).sort()).toEqual(['ephemeral.iso', 'ephemeral.iso.md5sum', 'ephemeral.json']);
    expect(await containersLabelled(CUT_LABEL, 'iso')).toEqual([]);
  }, 600_000);
});

describe('cut-image --type qcow', () => {
  it('cuts both bundles; qemu-img check passes and each fstab matches its layout', async () => {
    const s = settings('qcow', 'qcow');
    const config = cutTestConfig({ imageRef, settings: s });
    const out = await cutImage({ settings: s, config });
    expect(out.map((a) => a.file)).toEqual([
      join(s.outDir, 'control-plane.qcow2'),
      join(s.outDir, 'data-plane.qcow2'),
    ]);
    for (const bundle of config.qcowBundles) {
      const file = join(s.outDir, `${bundle.name}.qcow2`);
      await checkQcow2(file);
      const info = await qemuImgInfo(file);
      expect(info.virtualSize).toBe(bundle.qcow.capacity_bytes);
      expect(info.compression).toBe(bundle.qcow.qcow_compression_type);
      expect(md5Verifies(s.outDir, `${bundle.name}.qcow2`)).toBe(true);
      const plan = planDisk(bundle.qcow, imageRef, 'f').plan;
      if (!plan) throw new Error('plan');
      // Read the disk back: GPT via sfdisk, filesystems via blkid, fstab via debugfs.
      const raw = join(work, `${bundle.name}.raw`);
      await convertToRaw(file, raw);
      const gpt = await readPartitionTable(raw);
      expect(gpt.label).toBe('gpt');
      expect(gpt.partitions.map((p) => p.start)).toEqual(plan.partitions.map((p) => p.startSector));
      for (const p of plan.partitions.filter((x) => x.fs)) {
        const fs = await probeFilesystem(raw, p.startSector * 512);
        expect(fs.TYPE).toBe(p.fs?.type);
        expect(fs.UUID).toBe(p.fs?.uuid);
      }
      const root = plan.root;
      const at = root.startSector * 512;
      // debugfs reads ext4 roots back; an xfs root is checked by type and UUID above.
      if (root.fs?.type === 'ext4') {
        expect(await ext4Cat(raw, '/etc/fstab', at)).toBe(plan.fstab);
        // The image's live-CD tree and Docker's container marker stay off the target disk.
        expect(await ext4Exists(raw, '/etc/os-release', at)).toBe(true);
        expect(await ext4Exists(raw, '/.dockerenv', at)).toBe(false);
        expect(await ext4Exists(raw, '/livecd', at)).toBe(false);
        // No SSH host keys or machine id leave the build: each machine makes its own at first boot.
        for (const k of ['rsa', 'ecdsa', 'ed25519'])
          for (const ext of ['', '.pub'])
            expect(await ext4Exists(raw, `/etc/ssh/ssh_host_${k}_key${ext}`, at), k).toBe(false);
        expect(await ext4Exists(raw, '/usr/sbin/sshd', at)).toBe(true);
        expect(await ext4Exists(raw, '/etc/systemd/system/airship-ssh-host-keys.service', at)).toBe(true);
        expect(await ext4Exists(raw, '/etc/machine-id', at)).toBe(true);
        expect(await ext4Cat(raw, '/etc/machine-id', at)).toBe('');
      }
      rmSync(raw);
      const mounts = plan.fstab
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(' ')[1]);
      const order = [...bundle.qcow.partitions]
        .filter((p) => p.filesystem)
        .sort((a, b) => a.mount_order - b.mount_order);
      expect(mounts).toEqual(order.map((p) => p.mount));
    }
    expect(await containersLabelled(CUT_LABEL, 'qcow-control-plane')).toEqual([]);
  }, 1_800_000);

  it('refuses a bad layout and a missing bundle folder before writing anything, naming file and key', async () => {
    const s = settings('qcow', 'bad');
    const parts = controlPlaneLayout();
    const boot = parts[3];
    if (boot) boot.end_bytes = 8 * 1024 * 1024 * 1024;
    const config = cutTestConfig({ imageRef, settings: s, bundles: { broken: parts } });
    const err = await cutImage({ settings: { ...s, qcowNames: ['broken', 'absent'] }, config }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(
      `${join(config.manifestsDir ?? '', 'qcow-bundle/broken/qcow-vars.yaml')}: partitions[3].part_end:`,
    );
    expect(msg).toContain('lies beyond qcow_capacity 4G');
    expect(msg).toContain('absent: QCOW_NAMES: bundle folder absent does not exist');
    expect(existsSync(s.outDir) ? readdirSync(s.outDir) : []).toEqual([]);
  });

  it('says to run build first when the image does not exist', async () => {
    const s = settings('qcow', 'noimage');
    const config = cutTestConfig({
      imageRef: 'localhost/airshipit/image-builder:absent-cut-test',
      settings: s,
    });
    const err = await cutImage({ settings: s, config }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      'image localhost/airshipit/image-builder:absent-cut-test does not exist; run `image-builder build` first',
    );
  });

  it('leaves no partial artifact and no container when aborted mid-cut', async () => {
    const s = settings('qcow', 'abort');
    const config = cutTestConfig({
      imageRef,
      settings: s,
      bundles: { 'control-plane': controlPlaneLayout() },
    });
    const ac = new AbortController();
    const p = cutImage({
      settings: s,
      config,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.message === 'split') ac.abort();
      },
    });
    await expect(p).rejects.toThrow(/abort/);
    expect(readdirSync(s.outDir)).toEqual([]);
    expect(await containersLabelled(CUT_LABEL, 'qcow-control-plane')).toEqual([]);
    expect(readdirSync(join(s.cacheDir, 'cut'))).toEqual([]);
  }, 600_000);
});
