import { describe, expect, it } from 'vitest';
import { checkPartitions, parseBoundary, parseCapacity } from '../../../src/config/partitions.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('sizes', () => {
  it('reads qcow_capacity in qemu-img units', () => {
    expect(parseCapacity('19G')).toBe(19 * GiB);
    expect(parseCapacity('512M')).toBe(512 * MiB);
    expect(parseCapacity('2GiB')).toBe(2 * GiB);
    expect(parseCapacity(8 * GiB)).toBe(8 * GiB);
    expect(parseCapacity('huge')).toMatch(/expected a size such as 19G/);
  });

  it('reads partition boundaries in parted units and percentages', () => {
    expect(parseBoundary('1MiB', 8 * GiB)).toBe(MiB);
    expect(parseBoundary('1.5GiB', 8 * GiB)).toBe(1.5 * GiB);
    expect(parseBoundary('100%', 8 * GiB)).toBe(8 * GiB);
    expect(parseBoundary('50%', 8 * GiB)).toBe(4 * GiB);
    expect(parseBoundary('2048s', 8 * GiB)).toBe(MiB);
    expect(parseBoundary('1MB', 8 * GiB)).toBe(1e6);
    expect(parseBoundary('5', 8 * GiB)).toMatch(/has no unit/);
    expect(parseBoundary('101%', 8 * GiB)).toMatch(/more than the whole disk/);
    expect(parseBoundary('5 parsecs', 8 * GiB)).toMatch(/expected a size/);
  });
});

describe('partition table checks', () => {
  const part = (mount: string, start: number, end: number, flags: string[] = [], type?: string) => ({
    mount,
    start_bytes: start,
    end_bytes: end,
    flags,
    ...(type ? { filesystem: { type } } : {}),
  });

  it('accepts the default layout', () => {
    const layout = [
      part('/', 1284 * MiB, 8 * GiB, [], 'ext4'),
      part('none', MiB, 5 * MiB, ['bios_grub']),
      part('/boot/efi', 5 * MiB, 516 * MiB, ['esp'], 'vfat'),
      part('/boot', 516 * MiB, 1284 * MiB, [], 'ext4'),
    ];
    expect(checkPartitions(layout, 8 * GiB)).toEqual([]);
  });

  it('finds a second bios_grub, a start inside the GPT header, a missing root and a reused mount point', () => {
    const problems = checkPartitions(
      [
        part('none', 0, MiB, ['bios_grub']),
        part('none', MiB, 2 * MiB, ['bios_grub']),
        part('/data', 2 * MiB, 3 * MiB, [], 'ext4'),
        part('/data', 3 * MiB, 4 * MiB, [], 'ext4'),
      ],
      GiB,
    );
    expect(problems.map((p) => `${p.index}:${p.field}`)).toEqual([
      '0:part_start',
      '1:flags',
      '3:mount',
      '-1:',
    ]);
  });
});

describe('the GPT limit', () => {
  it('refuses more than 128 partitions and names the first one over', () => {
    const parts = Array.from({ length: 130 }, (_, i) => ({
      mount: i === 0 ? '/' : `/p${i}`,
      start_bytes: (i + 1) * 2 ** 20,
      end_bytes: (i + 2) * 2 ** 20,
      flags: [],
    }));
    const problems = checkPartitions(parts, 2 ** 30);
    expect(problems).toEqual([
      { index: 128, field: '', message: '130 partitions; a GPT table holds at most 128' },
    ]);
    expect(checkPartitions(parts.slice(0, 128), 2 ** 30)).toEqual([]);
  });
});
