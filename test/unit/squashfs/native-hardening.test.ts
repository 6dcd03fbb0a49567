// The addon's entry points refuse what JavaScript could wrongly hand them (wrong types, NaN or negative numbers,
// slices past a buffer's end, a closed writer) with a JS error naming the call and argument, instead of reading
// out of bounds or crashing the process; system errors carry the errno's own name.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { INODE, type NativeAddon, type NativeSquashWriter, native } from '../../../src/squashfs/native.js';

const dir = mkdtempSync(join(tmpdir(), 'native-hardening-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const small = join(dir, 'small');
writeFileSync(small, 'four');

/** The addon's functions called with values their TypeScript types forbid. */
const raw = (): Record<string, (...args: unknown[]) => unknown> =>
  native() as unknown as Record<string, (...args: unknown[]) => unknown>;
type Ctor = new (...args: unknown[]) => Record<string, (...args: unknown[]) => unknown>;
const ctor = (name: keyof NativeAddon): Ctor => native()[name] as unknown as Ctor;
const gzip = { comp: 'gzip', blockSize: 131072 };

function thrown(fn: () => unknown): { name: string; code: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { name: err.name, code: err.code, message: err.message };
  }
  throw new Error('expected a throw');
}

const T = 'TypeError';
const R = 'RangeError';
const TYPE = 'ERR_INVALID_ARG_TYPE';
const RANGE = 'ERR_OUT_OF_RANGE';

describe('native arguments are checked at every entry point', () => {
  const compressor = () => new (ctor('BlockCompressor'))(gzip);
  const decompressor = () => new (ctor('BlockDecompressor'))(gzip);
  const cases: [string, () => unknown, string, string, string][] = [
    [
      'BlockCompressor without options',
      () => new (ctor('BlockCompressor'))(),
      T,
      TYPE,
      'new BlockCompressor: options must be an object (got undefined)',
    ],
    [
      'a string level',
      () => new (ctor('BlockCompressor'))({ ...gzip, level: '9' }),
      T,
      TYPE,
      'new BlockCompressor: options.level must be an integer (got a string)',
    ],
    [
      'a fractional block size',
      () => new (ctor('BlockCompressor'))({ comp: 'zstd', blockSize: 4096.5 }),
      T,
      TYPE,
      'new BlockCompressor: options.blockSize must be an integer (got number 4096.5)',
    ],
    [
      'a block size over 1 MiB',
      () => new (ctor('BlockDecompressor'))({ comp: 'zstd', blockSize: 2 << 20 }),
      R,
      RANGE,
      'new BlockDecompressor: options.blockSize must be an integer in [4096, 1048576] (got 2097152)',
    ],
    [
      'a number for lz4Hc',
      () => new (ctor('BlockCompressor'))({ comp: 'lz4', blockSize: 131072, lz4Hc: 1 }),
      T,
      TYPE,
      'new BlockCompressor: options.lz4Hc must be a boolean (got number 1)',
    ],
    [
      'compress from a Float64Array',
      () => compressor().compress?.(new Float64Array(4), new Uint8Array(32)),
      T,
      TYPE,
      'BlockCompressor.compress: src must be a Uint8Array (got Float64Array)',
    ],
    [
      'decompress into a string',
      () => decompressor().decompress?.(new Uint8Array(4), 'dst'),
      T,
      TYPE,
      'BlockDecompressor.decompress: dst must be a Uint8Array (got a string)',
    ],
    [
      'compressTask items as bytes',
      () =>
        compressor().compressTask?.(
          new Uint8Array(40),
          `${small}\0`,
          [],
          new Uint8Array(64),
          new Uint32Array(8),
        ),
      T,
      TYPE,
      'BlockCompressor.compressTask: items must be a Float64Array (got Uint8Array)',
    ],
    [
      'compressTask with a record naming a buffer the task does not carry',
      () =>
        compressor().compressTask?.(
          new Float64Array([0, -2, 0, 4, 4]),
          '',
          [new Uint8Array(8)],
          new Uint8Array(64),
          new Uint32Array(8),
        ),
      R,
      RANGE,
      'BlockCompressor.compressTask: record 0 src names no buffer',
    ],
    [
      'compressTask with a record running past its buffer',
      () =>
        compressor().compressTask?.(
          new Float64Array([0, -1, 6, 4, 4]),
          '',
          [new Uint8Array(8)],
          new Uint8Array(64),
          new Uint32Array(8),
        ),
      R,
      RANGE,
      'BlockCompressor.compressTask: record 0 runs past its buffer',
    ],
    [
      'compressTask with a negative offset',
      () =>
        compressor().compressTask?.(
          new Float64Array([0, 0, -1, 4, 0]),
          `${small}\0`,
          [],
          new Uint8Array(64),
          new Uint32Array(8),
        ),
      R,
      RANGE,
      'BlockCompressor.compressTask: record 0 offset must be an integer in [0, 9007199254740992] (got -1)',
    ],
    [
      'compressTask with a NaN length',
      () =>
        compressor().compressTask?.(
          new Float64Array([0, 0, 0, Number.NaN, 0]),
          `${small}\0`,
          [],
          new Uint8Array(64),
          new Uint32Array(8),
        ),
      R,
      RANGE,
      'BlockCompressor.compressTask: record 0 length must be an integer in [0, 9007199254740992] (got NaN)',
    ],
    [
      'compressTask with a record longer than out',
      () =>
        compressor().compressTask?.(
          new Float64Array([0, 0, 0, 4096, 0]),
          `${small}\0`,
          [],
          new Uint8Array(64),
          new Uint32Array(8),
        ),
      R,
      RANGE,
      'BlockCompressor.compressTask: out or table too small for the task',
    ],
    [
      'readRange at a negative offset',
      () => raw().readRange?.(small, -1, new Uint8Array(1)),
      R,
      RANGE,
      'readRange: offset must be an integer in [0, 9007199254740992] (got -1)',
    ],
    [
      'readRange into a Float64Array',
      () => raw().readRange?.(small, 0, new Float64Array(1)),
      T,
      TYPE,
      'readRange: dst must be a Uint8Array (got Float64Array)',
    ],
    [
      'readRange of a number',
      () => raw().readRange?.(42, 0, new Uint8Array(1)),
      T,
      TYPE,
      'readRange: path must be a latin1 string or a Buffer (got number 42)',
    ],
    [
      'readRange of a path with a NUL inside',
      () => raw().readRange?.(`${small}\0/etc/passwd`, 0, new Uint8Array(1)),
      T,
      TYPE,
      'readRange: path must be a path without NUL bytes (got a string)',
    ],
    [
      'hashFiles with byte sizes',
      () => raw().hashFiles?.(`${small}\0`, new Uint8Array(8), new Uint8Array(32)),
      T,
      TYPE,
      'hashFiles: sizes must be a Float64Array (got Uint8Array)',
    ],
    [
      'hashFiles with a negative size',
      () => raw().hashFiles?.(`${small}\0`, new Float64Array([-4]), new Uint8Array(32)),
      R,
      RANGE,
      'hashFiles: sizes[0] must be an integer in [0, 9007199254740992] (got -4)',
    ],
    [
      'hashFiles into too small an out',
      () => raw().hashFiles?.(`${small}\0${small}\0`, new Float64Array([4, 4]), new Uint8Array(63)),
      R,
      RANGE,
      'hashFiles: out holds fewer than 32 bytes per file',
    ],
    [
      'scanDir with a string for xattrs',
      () => raw().scanDir?.(dir, 'yes'),
      T,
      TYPE,
      'scanDir: xattrs must be a boolean (got a string)',
    ],
    [
      'openat2 with a string dirfd',
      () => raw().openat2?.('3', 'x', 0, 0, 0),
      T,
      TYPE,
      'openat2: dirfd must be an integer (got a string)',
    ],
    [
      'mkdirat with a mode past 07777',
      () => raw().mkdirat?.(-100, 'x', 0o10000),
      R,
      RANGE,
      'mkdirat: mode must be an integer in [0, 4095] (got 4096)',
    ],
    [
      'cpuid of a negative leaf',
      () => raw().cpuid?.(-1),
      R,
      RANGE,
      'cpuid: leaf must be an integer in [0, 4294967295] (got -1)',
    ],
    [
      'SquashWriter with a number for a path',
      () => new (ctor('SquashWriter'))(42, gzip),
      T,
      TYPE,
      'new SquashWriter: path must be a string (got number 42)',
    ],
    [
      'SquashWriter with a negative mkfsTime',
      () => new (ctor('SquashWriter'))(join(dir, 'w.sqfs'), { ...gzip, mkfsTime: -1 }),
      R,
      RANGE,
      'new SquashWriter: options.mkfsTime must be an integer in [0, 4294967295] (got -1)',
    ],
  ];
  // XGETBV of a register the CPU lacks faults (#GP): the process would die.
  if (process.arch === 'x64')
    cases.push([
      'xgetbv of an extended control register that does not exist',
      () => raw().xgetbv?.(7),
      R,
      RANGE,
      'xgetbv: index names no extended control register this CPU has',
    ]);

  it.each(cases)('%s', (_, call, name, code, message) => {
    expect(thrown(call)).toEqual({ name, code, message });
  });
});

describe('SquashWriter arguments', () => {
  let n = 0;
  const writer = (): NativeSquashWriter & Record<string, (...args: unknown[]) => unknown> =>
    new (native().SquashWriter)(join(dir, `args-${n++}.sqfs`), {
      comp: 'gzip',
      blockSize: 131072,
      mkfsTime: 0,
    }) as NativeSquashWriter & Record<string, (...args: unknown[]) => unknown>;
  const W = INODE.words;
  const regular = (): Float64Array => {
    const f = new Float64Array(W);
    f[INODE.mode] = 0o100644;
    f[INODE.nlink] = 1;
    f[INODE.xattr] = 0xffffffff;
    f[INODE.fragIndex] = 0xffffffff;
    return f;
  };
  const cases: [
    string,
    (w: Record<string, (...args: unknown[]) => unknown>) => unknown,
    string,
    string,
    string,
  ][] = [
    [
      'addXattrs of a string',
      (w) => w.addXattrs?.('user.a=1', '/x'),
      T,
      TYPE,
      'SquashWriter.addXattrs: pairs must be an array (got a string)',
    ],
    [
      'addXattrs with a string value',
      (w) => w.addXattrs?.([['user.a', '1']], '/x'),
      T,
      TYPE,
      'SquashWriter.addXattrs: pairs[0][1] must be a Uint8Array (got a string)',
    ],
    [
      'addXattrs with a lone key',
      (w) => w.addXattrs?.([['user.a']], '/x'),
      T,
      TYPE,
      'SquashWriter.addXattrs: pairs[0] must be a [key, value] pair (got an array)',
    ],
    [
      'addFragment at a negative location',
      (w) => w.addFragment?.(-1, 0),
      R,
      RANGE,
      'SquashWriter.addFragment: location must be an integer in [0, 9007199254740992] (got -1)',
    ],
    [
      'adoptData of NaN',
      (w) => w.adoptData?.(Number.NaN),
      T,
      TYPE,
      'SquashWriter.adoptData: end must be an integer (got NaN)',
    ],
    [
      'writeInodes with byte fields',
      (w) => w.writeInodes?.(new Uint8Array(W), new Uint32Array(2), new Uint8Array(0)),
      T,
      TYPE,
      'SquashWriter.writeInodes: fields must be a Float64Array (got Uint8Array)',
    ],
    [
      'writeInodes with a span past the payload',
      (w) => w.writeInodes?.(regular(), new Uint32Array([2, 4]), new Uint8Array(4)),
      R,
      RANGE,
      'SquashWriter.writeInodes: spans of inode 0 runs past the payload',
    ],
    [
      'writeInodes with a NaN uid',
      (w) => {
        const f = regular();
        f[INODE.uid] = Number.NaN;
        return w.writeInodes?.(f, new Uint32Array(2), new Uint8Array(0));
      },
      R,
      RANGE,
      'SquashWriter: inode field uid must be an integer in [0, 4294967295] (got NaN)',
    ],
    [
      'writeDir with a name holding a slash',
      (w) =>
        w.writeDir?.(
          Buffer.from('a/b'),
          new Uint32Array([3]),
          new Float64Array([2, 0, 0o100644]),
          new Float64Array(W),
        ),
      R,
      RANGE,
      "SquashWriter.writeDir: name 0 must be 1 to 256 bytes without '/' or NUL",
    ],
    [
      'writeDir with name ends past the names',
      (w) => w.writeDir?.(Buffer.from('ab'), new Uint32Array([9]), new Float64Array(3), new Float64Array(W)),
      R,
      RANGE,
      'SquashWriter.writeDir: nameEnds run past the names',
    ],
    [
      'finish without a root',
      (w) => w.finish?.({}),
      T,
      TYPE,
      'SquashWriter.finish: root.rootRef must be an integer (got undefined)',
    ],
  ];

  it.each(cases)('%s', (_, call, name, code, message) => {
    const w = writer();
    try {
      expect(thrown(() => call(w))).toEqual({ name, code, message });
    } finally {
      w.close();
    }
  });
});

describe('a closed SquashWriter', () => {
  const methods: [string, unknown[]][] = [
    ['dataEnd', []],
    ['adoptData', [96]],
    ['addFragment', [96, 10]],
    ['addXattrs', [[['user.a', Buffer.from('1')]], '/x']],
    ['writeInodes', [new Float64Array(0), new Uint32Array(0), new Uint8Array(0)]],
    ['writeDir', [new Uint8Array(0), new Uint32Array(0), new Float64Array(0), new Float64Array(INODE.words)]],
    ['finish', [{ rootRef: 0, rootIno: 1, inodeCount: 1 }]],
  ];
  it.each(methods)('refuses %s with ERR_WRITER_CLOSED after close()', (method, args) => {
    const path = join(dir, `closed-${method}.sqfs`);
    const w = new (native().SquashWriter)(path, { comp: 'zstd', blockSize: 131072, mkfsTime: 0 });
    w.close();
    const call = (w as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    expect(thrown(() => call?.apply(w, args))).toEqual({
      name: 'Error',
      code: 'ERR_WRITER_CLOSED',
      message: `SquashWriter.${method}: the writer is closed (finished or closed): ${path}`,
    });
  });
});

describe('system errors carry the errno name', () => {
  it('a name too long is ENAMETOOLONG (it was EIO)', () => {
    const long = join(dir, 'n'.repeat(300));
    expect(thrown(() => native().readRange(long, 0, new Uint8Array(1)))).toEqual({
      name: 'Error',
      code: 'ENAMETOOLONG',
      message: `open ${long}: ENAMETOOLONG (File name too long)`,
    });
  });

  it('the custom codes stay: ESHRANK for a short file, ENOTREG for a folder', () => {
    expect(thrown(() => native().readRange(small, 0, new Uint8Array(8))).code).toBe('ESHRANK');
    expect(thrown(() => native().readRange(dir, 0, new Uint8Array(8)))).toEqual({
      name: 'Error',
      code: 'ENOTREG',
      message: `open ${dir}: not a regular file`,
    });
  });

  // ENOSPC itself is shown through the CLI on a 1 MiB tmpfs (test/integration/squashfs/enospc.test.ts): the
  // writer creates its output with O_EXCL, so a device such as /dev/full can no longer stand in for a full disk.
  it('an existing output file is EEXIST (never written into), with libsquashfs code and the path', () => {
    let err: unknown;
    try {
      new (native().SquashWriter)(small, { comp: 'gzip', blockSize: 131072, mkfsTime: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'EEXIST',
      errno: 17,
      sqfsCode: -2,
      path: small,
    });
    expect((err as Error).message).toBe(`opening the output file failed (EEXIST: File exists): ${small}`);
  });
});

describe('failures inside a worker thread (the addon runs in piscina workers)', () => {
  it('reach the worker as catchable JS errors, and the worker goes on', async () => {
    const addon = new URL('../../../build/Release/airship_native.node', import.meta.url).pathname;
    const code = `
      const { parentPort } = require('node:worker_threads');
      const a = require(${JSON.stringify(addon)});
      const c = new a.BlockCompressor({ comp: 'zstd', blockSize: 131072 });
      const seen = [];
      for (const f of [() => c.compress('x', new Uint8Array(8)), () => a.readRange('/nonexistent/x', 0, new Uint8Array(1))])
        try { f(); } catch (e) { seen.push(e.code); }
      seen.push(c.compress(Buffer.alloc(4096), new Uint8Array(4096)) > 0);
      parentPort.postMessage(seen);`;
    const w = new Worker(code, { eval: true });
    const seen = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(seen).toEqual(['ERR_INVALID_ARG_TYPE', 'ENOENT', true]);
  });
});

describe('error paths close what they opened', () => {
  it('a thousand failing reads, scans and hashes leave the descriptor count as it was', () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 1000; i++) {
      thrown(() => native().readRange(dir, 0, new Uint8Array(1))); // ENOTREG after open
      thrown(() => native().readRange(small, 0, new Uint8Array(8))); // ESHRANK after open
      thrown(() => native().hashFiles(`${small}\0`, new Float64Array([8]), new Uint8Array(32)));
      thrown(() => native().scanDir(small, false)); // ENOTDIR
    }
    expect(fds()).toBe(before);
  });
});
