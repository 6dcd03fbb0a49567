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
import { type CompressorConfig, native } from '../../../src/squashfs/native.js';

const dir = mkdtempSync(join(tmpdir(), 'block-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg: CompressorConfig = { comp: 'zstd', level: 15, blockSize: 4096 };
const compressor = new (native().BlockCompressor)(cfg);
const decompressor = new (native().BlockDecompressor)(cfg);
const decompress = (src: Uint8Array, dst: Uint8Array) => decompressor.decompress(src, dst);

function compressed(block: Buffer): Buffer {
  const dst = Buffer.alloc(block.length);
  return dst.subarray(0, compressor.compress(block, dst));
}

const data = Buffer.from('block cache test '.repeat(241).slice(0, 4096));
const hash = blockHash(data);
const body = compressed(data);
const read = () => readEntry(dir, cfg, data, hash, decompress);
const file = join(dir, entryName(cfg, hash));

describe('block cache entries', () => {
  it('reads back what it wrote, and nothing for other settings', () => {
    expect(body.length).toBeGreaterThan(0);
    expect(read()).toBe('miss');
    expect(writeEntry(dir, cfg, data, hash, body, false)).toBe(true);
    const hit = read();
    expect(hit).toHaveProperty('body');
    expect((hit as { body: Buffer }).body.equals(body)).toBe(true);
    expect(readEntry(dir, { ...cfg, level: 3 }, data, hash, decompress)).toBe('miss');
    expect(readdirSync(dir)).toEqual([entryName(cfg, hash)]);
  });

  it('refuses a well-formed entry whose body decompresses to other bytes (written by someone else)', () => {
    const other = Buffer.from(data);
    other[100] = 0x21;
    // A consistent header filed under this block's name: only decompressing catches it.
    expect(writeEntry(dir, cfg, data, hash, compressed(other), false)).toBe(true);
    expect(read()).toBe('bad');
  });

  it('refuses an entry whose header names other settings even under this name', () => {
    const other = { ...cfg, blockSize: 8192 };
    writeEntry(dir, other, data, hash, body, false);
    writeFileSync(file, readFileSync(join(dir, entryName(other, hash))));
    expect(read()).toBe('bad');
  });

  it('refuses a raw entry whose body is not the block', () => {
    writeEntry(dir, cfg, data, hash, Buffer.alloc(4096, 0x62), true);
    expect(read()).toBe('bad');
  });

  it('refuses a header-only entry and replaces a symlink entry without writing through it', () => {
    writeFileSync(file, Buffer.alloc(HEADER_BYTES));
    expect(read()).toBe('bad');
    const target = join(dir, 'target');
    writeFileSync(target, 'keep');
    rmSync(file);
    symlinkSync(target, file);
    expect(read()).toBe('bad');
    expect(writeEntry(dir, cfg, data, hash, body, false)).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(read()).toHaveProperty('body');
  });
});

describe('BlockDecompressor', () => {
  // The worker's compressors (the addon's, for every compressor). A hit is only usable when the decompressor
  // reads back what they wrote; otherwise every entry would count as bad.
  const block = Buffer.from(Array.from({ length: 9000 }, (_, i) => `${(i * 2654435761) % 9973} `).join(''));
  const cases: CompressorConfig[] = [
    { comp: 'gzip', level: 9, blockSize: 131072 },
    { comp: 'xz', blockSize: 131072 },
    { comp: 'lz4', blockSize: 131072 },
    { comp: 'zstd', level: 15, blockSize: 131072 },
  ];
  it.each(cases)('reads back $comp blocks as the worker writes them', (c) => {
    const src = block.subarray(0, c.blockSize);
    const dst = Buffer.alloc(src.length);
    const body = dst.subarray(0, new (native().BlockCompressor)(c).compress(src, dst));
    expect(body.length).toBeGreaterThan(0);
    expect(body.length).toBeLessThan(src.length);
    const d = new (native().BlockDecompressor)(c);
    const out = Buffer.alloc(src.length + 1);
    expect(d.decompress(body, out)).toBe(src.length);
    expect(out.subarray(0, src.length).equals(src)).toBe(true);
    // Garbage is reported, not thrown or read past.
    expect(d.decompress(Buffer.alloc(64, 0x5a), out)).toBe(-1);
  });
});
