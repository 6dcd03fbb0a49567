import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  blockHash,
  entryName,
  HEADER_BYTES,
  readEntry,
  writeEntry,
} from '../../../src/squashfs/block-cache.js';
import type { CompressorConfig } from '../../../src/squashfs/native.js';

const dir = mkdtempSync(join(tmpdir(), 'block-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg: CompressorConfig = { comp: 'zstd', level: 15, blockSize: 4096 };
const data = Buffer.alloc(4096, 0x61);
const hash = blockHash(data);
const body = Buffer.from('pretend-compressed');

describe('block cache entries', () => {
  it('reads back what it wrote, and nothing for other settings', () => {
    expect(readEntry(dir, cfg, data, hash)).toBe('miss');
    expect(writeEntry(dir, cfg, data, hash, body, false)).toBe(true);
    const hit = readEntry(dir, cfg, data, hash);
    expect(hit).not.toBe('miss');
    expect(hit).not.toBe('bad');
    expect((hit as { body: Buffer }).body.equals(body)).toBe(true);
    expect(readEntry(dir, { ...cfg, level: 3 }, data, hash)).toBe('miss');
    expect(readdirSync(dir)).toEqual([entryName(cfg, hash)]);
  });

  it('refuses an entry whose header names other settings even under this name', () => {
    const other = { ...cfg, blockSize: 8192 };
    const file = join(dir, entryName(cfg, hash));
    writeEntry(dir, other, data, hash, body, false);
    writeFileSync(file, readFileSync(join(dir, entryName(other, hash))));
    expect(readEntry(dir, cfg, data, hash)).toBe('bad');
  });

  it('refuses a raw entry whose body is not the block', () => {
    writeEntry(dir, cfg, data, hash, Buffer.alloc(4096, 0x62), true);
    expect(readEntry(dir, cfg, data, hash)).toBe('bad');
  });

  it('refuses a header-only entry and replaces a symlink entry without writing through it', () => {
    const file = join(dir, entryName(cfg, hash));
    writeFileSync(file, Buffer.alloc(HEADER_BYTES));
    expect(readEntry(dir, cfg, data, hash)).toBe('bad');
    const target = join(dir, 'target');
    writeFileSync(target, 'keep');
    rmSync(file);
    symlinkSync(target, file);
    expect(readEntry(dir, cfg, data, hash)).toBe('bad');
    expect(writeEntry(dir, cfg, data, hash, body, false)).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(readEntry(dir, cfg, data, hash)).toHaveProperty('body');
  });
});
