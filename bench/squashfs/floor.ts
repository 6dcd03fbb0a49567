/**
 * Compress-only floor: reads every regular file of a tree and compresses each full block and tail once, on one
 * thread, with the compressor the writer uses. Prints CPU seconds as JSON. Run in its own process.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../src/squashfs/native.js';

const [dir, comp, levelArg] = process.argv.slice(2) as [
  string,
  'gzip' | 'xz' | 'lz4' | 'zstd',
  string | undefined,
];
const blockSize = 131072;
const level = levelArg && levelArg !== '0' ? Number(levelArg) : undefined;
// The writer's compressors for every compressor (the addon's, zstd included).
const c = new (native().BlockCompressor)({ comp, blockSize, ...(level !== undefined ? { level } : {}) });
const dst = new Uint8Array(blockSize + 4096);
const compressFn = (b: Uint8Array) => c.compress(b, dst);
const files: string[] = [];
const walk = (d: string) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) files.push(p);
  }
};
walk(dir);
const before = process.cpuUsage();
let bytes = 0;
for (const f of files) {
  const data = readFileSync(f);
  bytes += data.length;
  for (let at = 0; at < data.length; at += blockSize) compressFn(data.subarray(at, at + blockSize));
}
const cpu = process.cpuUsage(before);
process.stdout.write(
  `${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, bytes, files: files.length })}\n`,
);
