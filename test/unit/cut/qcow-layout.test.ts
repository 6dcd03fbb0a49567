import { describe, expect, it } from 'vitest';
import { planDisk } from '../../../src/stages/qcow-layout.js';
import { controlPlaneLayout, cutTestConfig, xfsLayout } from '../../integration/cut/fixture-config.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function qcow(partitions = controlPlaneLayout()) {
  const b = cutTestConfig().qcowBundles[0];
  if (!b) throw new Error('fixture has no bundle');
  return { ...b.qcow, partitions };
}

describe('planDisk', () => {
  it('turns the default layout into GPT entries, UUIDs and an fstab in mount order', () => {
    const r = planDisk(qcow(), 'seed', 'qcow-vars.yaml');
    if (!r.plan) throw new Error(JSON.stringify(r.errors));
    const p = r.plan;
    expect(p.partitions.map((x) => [x.number, x.mount, x.startSector])).toEqual([
      [1, '/', (1284 * MiB) / 512],
      [2, 'none', 2048],
      [3, '/boot/efi', (5 * MiB) / 512],
      [4, '/boot', (516 * MiB) / 512],
    ]);
    // "100%" stops before the backup GPT.
    const root = p.partitions[0];
    expect(root && (root.startSector + root.sectors) * 512).toBe(4 * GiB - 33 * 512);
    expect(p.boot.mount).toBe('/boot');
    const lines = p.fstab.trim().split('\n').slice(1);
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['/', '/boot', '/boot/efi']);
    expect(lines[0]).toMatch(/^UUID=[0-9a-f-]{36} \/ ext4 defaults,errors=remount-ro,noatime 0 1$/);
    expect(lines[2]).toMatch(/^UUID=[0-9A-F]{4}-[0-9A-F]{4} \/boot\/efi vfat defaults,noatime 0 2$/);
    expect(p.sfdiskScript).toContain('type=21686148-6449-6E6F-744E-656564454649');
    expect(p.sfdiskScript).toContain('type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  });

  it('derives the same UUIDs from the same seed and different ones from another', () => {
    const a = planDisk(qcow(), 'seed', 'f').plan;
    const b = planDisk(qcow(), 'seed', 'f').plan;
    const c = planDisk(qcow(), 'other', 'f').plan;
    expect(a?.fstab).toBe(b?.fstab);
    expect(a?.fstab).not.toBe(c?.fstab);
  });

  it('keeps /boot on root when there is no /boot partition', () => {
    const r = planDisk(qcow(xfsLayout()), 'seed', 'f');
    expect(r.plan?.boot.mount).toBe('/');
    expect(r.plan?.root.fs?.type).toBe('xfs');
  });

  it('names file and key for overlapping partitions and ends beyond the capacity', () => {
    const parts = controlPlaneLayout();
    const boot = parts[3];
    const efi = parts[2];
    if (!boot || !efi) throw new Error('layout');
    boot.start_bytes = 400 * MiB; // inside the ESP (5–516 MiB)
    boot.part_start = '400MiB';
    efi.end_bytes = 5 * GiB;
    efi.part_end = '5GiB';
    const r = planDisk(qcow(parts), 'seed', '/m/qcow-bundle/cp/qcow-vars.yaml');
    expect(r.plan).toBeNull();
    const msgs = r.errors.map((e) => `${e.file} ${e.key}: ${e.message}`);
    expect(msgs).toContain(
      '/m/qcow-bundle/cp/qcow-vars.yaml partitions[2].part_end: 5GiB lies beyond qcow_capacity 4G',
    );
    expect(msgs.some((m) => m.includes('partitions[3].part_start: overlaps partitions[2]'))).toBe(true);
  });

  it('requires a root, an esp and a bios_grub partition', () => {
    const r = planDisk(
      qcow(controlPlaneLayout().filter((p) => p.mount !== '/' && p.mount !== 'none')),
      's',
      'f',
    );
    expect(r.errors.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'no partition is mounted at /',
        'no partition has the bios_grub flag (needed for BIOS boot)',
      ]),
    );
  });
});
