import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { nativeInfo } from '../../src/squashfs/native.js';

const ADDON = new URL('../../build/Release/airship_native.node', import.meta.url).pathname;

describe('native addon', () => {
  it('reports the libsquashfs version and its compressors', () => {
    const info = nativeInfo();
    expect(info.libsquashfs).toMatch(/^1\.\d+\.\d+$/);
    for (const c of ['gzip', 'xz', 'lz4', 'zstd']) expect(info.compressors).toContain(c);
  });

  it('names the system zlib it makes gzip blocks with, and its version', () => {
    const { zlib } = nativeInfo();
    // Python's zlib module runs the system library: an independent reading of its version.
    const python = execFileSync('python3', ['-c', 'import zlib; print(zlib.ZLIB_RUNTIME_VERSION)'])
      .toString()
      .trim();
    expect(zlib).toEqual({
      soname: 'libz.so.1',
      path: expect.stringMatching(/\/libz\.so\.1$/),
      version: python,
    });
    expect(existsSync(zlib.path)).toBe(true);
    // Not Node's bundled zlib, whose version carries its own suffix.
    expect(process.versions.zlib).not.toBe(zlib.version);
  });

  it("refuses to load without the system zlib instead of falling back to Node's", () => {
    // libsquashfs itself needs a libz.so.1: a private copy, preloaded, satisfies it, while the file the addon's
    // own loader finds (the system's) is hidden by an empty file mounted over it, in a mount namespace of its own.
    const libz = realpathSync(nativeInfo().zlib.path);
    const dir = mkdtempSync(join(tmpdir(), 'no-zlib-'));
    try {
      copyFileSync(libz, join(dir, 'libz.so.1'));
      const load = `try { require(${JSON.stringify(ADDON)}); console.log('loaded') } catch (e) { console.log(e.code + ': ' + e.message) }`;
      const r = spawnSync(
        'unshare',
        ['-m', 'sh', '-c', `mount --bind /dev/null ${libz} && exec "$0" -e "$1"`, process.execPath, load],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LD_PRELOAD: join(dir, 'libz.so.1') } },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toMatch(
        /^ERR_SYSTEM_ZLIB: the system zlib \(libz\.so\.1\) cannot be loaded: \S*\/libz\.so\.1: file too short; gzip images need it \(install zlib1g\)$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads in a worker thread too', async () => {
    const path = ADDON;
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
