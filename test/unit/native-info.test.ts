import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nativeInfo } from '../../src/squashfs/native.js';

describe('native addon', () => {
  it('reports the libsquashfs version and its compressors', () => {
    const info = nativeInfo();
    expect(info.libsquashfs).toMatch(/^1\.\d+\.\d+$/);
    for (const c of ['gzip', 'xz', 'lz4', 'zstd']) expect(info.compressors).toContain(c);
  });

  it('loads in a worker thread too', async () => {
    const path = new URL('../../build/Release/airship_native.node', import.meta.url).pathname;
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads'); parentPort.postMessage(require(${JSON.stringify(path)}).info());`,
      { eval: true },
    );
    const msg = await new Promise<{ compressors: string[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(msg.compressors).toContain('zstd');
  });
});
