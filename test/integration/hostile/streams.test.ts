/**
 * Hostile tar streams and block cache entries, through the CLI (`image-builder squash`): a bad stream exits 1
 * naming the entry and leaves no output or temp file; a bad cache entry is a miss, so the image is the same bytes
 * as a cold build; valid images are read back by unsquashfs. The host canary stays untouched in every case.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_FILE, plantCanary } from '../../helpers/canary.js';
import { runCli } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'aib-streams-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// --- a small tar writer: ustar headers with a correct checksum unless told otherwise --------------------------

interface HeaderOpts {
  type?: string;
  size?: number;
  mode?: number;
  uid?: number;
  link?: string;
  devmajor?: number;
  /** Raw bytes for a numeric field, written over the octal value. */
  raw?: { at: number; bytes: Buffer };
  badChecksum?: boolean;
}

const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, '0')}\0`;

function header(name: string | Buffer, o: HeaderOpts = {}): Buffer {
  const h = Buffer.alloc(512);
  Buffer.from(name).copy(h, 0, 0, 100);
  h.write(octal(o.mode ?? 0o644, 8), 100, 'latin1');
  h.write(octal(o.uid ?? 0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(o.size ?? 0, 12), 124, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 'latin1');
  h.write(o.type ?? '0', 156, 'latin1');
  if (o.link) h.write(o.link, 157, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write(octal(o.devmajor ?? 0, 8), 329, 'latin1');
  h.write(octal(0, 8), 337, 'latin1');
  if (o.raw) o.raw.bytes.copy(h, o.raw.at);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(o.badChecksum ? sum + 1 : sum, 7), 148, 'latin1');
  return h;
}

const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
const file = (name: string | Buffer, data = 'data\n', o: HeaderOpts = {}): Buffer =>
  Buffer.concat([header(name, { ...o, size: Buffer.byteLength(data) }), padded(Buffer.from(data))]);
const dir = (name: string): Buffer => header(name, { type: '5', mode: 0o755 });
const END = Buffer.alloc(1024);

function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** A PAX extended header ('x') carrying these records, for the entry that follows. */
function pax(records: [string, string | Buffer][]): Buffer {
  const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  return Buffer.concat([header('PaxHeader', { type: 'x', size: body.length }), padded(body)]);
}

/** A GNU long-name header ('L') for the entry that follows. */
function longName(name: string): Buffer {
  const body = Buffer.from(`${name}\0`);
  return Buffer.concat([header('././@LongLink', { type: 'L', size: body.length }), padded(body)]);
}

const tar = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, END]);
const base256 = (n: bigint, len: number): Buffer => {
  const b = Buffer.alloc(len);
  let v = n;
  for (let i = len - 1; i > 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[0] = 0x80;
  return b;
};

const long256 = 'n'.repeat(256);
const ok = file('ok.txt');

// --- hostile streams --------------------------------------------------------------------------------------------

interface StreamCase {
  name: string;
  stream: Buffer;
  /** Substrings the error message must hold: the reason and the entry. */
  expect: string[];
}

const streams: StreamCase[] = [
  { name: "entry named '..'", stream: tar(ok, dir('..')), expect: ["'..' component", '".."', '#2'] },
  { name: "file '../x'", stream: tar(file('../x')), expect: ["'..' component", '"../x"'] },
  { name: 'absolute name', stream: tar(file('/abs')), expect: ['absolute name', '"/abs"'] },
  { name: "'a/../../x'", stream: tar(file('a/../../x')), expect: ["'..' component", '"a/../../x"'] },
  {
    name: "'./a/../b' (resolvable, still refused)",
    stream: tar(file('./a/../b')),
    expect: ["'..' component"],
  },
  {
    name: "hard link to '../x'",
    stream: tar(ok, header('hl', { type: '1', link: '../x' })),
    expect: ["hard link target: '..' component", '"/hl"'],
  },
  {
    name: 'hard link to an absolute host path',
    stream: tar(ok, header('hl', { type: '1', link: CANARY_FILE })),
    expect: ['hard link target: absolute name', '"/hl"'],
  },
  {
    name: 'hard link to a missing entry',
    stream: tar(ok, header('hl', { type: '1', link: 'nope' })),
    expect: ['hard link target not found: nope', '"/hl"'],
  },
  {
    name: '256-byte component (GNU long name)',
    stream: tar(longName(`d/${long256}`), file(`d/${long256}`.slice(0, 99))),
    expect: ['name component of 256 bytes', `d/${long256}`],
  },
  {
    name: '256-byte component (PAX path)',
    stream: tar(pax([['path', long256]]), file('short')),
    expect: ['name component of 256 bytes', long256],
  },
  {
    name: 'PAX path escaping the root',
    stream: tar(pax([['path', '../../tmp/aib-canary/canary.txt']]), file('innocent')),
    expect: ["'..' component", '"../../tmp/aib-canary/canary.txt"'],
  },
  {
    name: 'NUL in a PAX path',
    stream: tar(pax([['path', 'a\0b']]), file('a')),
    expect: ['NUL byte in name'],
  },
  {
    name: 'uid over 32 bits (PAX)',
    stream: tar(pax([['uid', '4294967296']]), file('big-uid')),
    expect: ['uid 4294967296 does not fit 32 bits', '"/big-uid"'],
  },
  {
    name: 'uid over 32 bits (base-256 header field)',
    stream: tar(file('big-uid', 'x', { raw: { at: 108, bytes: base256(1n << 40n, 8) } })),
    expect: ['uid 1099511627776 does not fit 32 bits', '"/big-uid"'],
  },
  {
    name: 'PAX uid not a number',
    stream: tar(pax([['uid', '12ab']]), file('u')),
    expect: ['PAX uid is not a number', '"u"'],
  },
  {
    name: 'negative mtime (PAX)',
    stream: tar(pax([['mtime', '-1.5']]), file('old')),
    expect: ['mtime -2 outside 0..4294967295', '"/old"'],
  },
  {
    name: 'mtime past 2106 (PAX)',
    stream: tar(pax([['mtime', '4294967296']]), file('future')),
    expect: ['mtime 4294967296 outside', '"/future"'],
  },
  {
    name: 'negative mtime (base-256 header field)',
    stream: tar(file('neg', 'x', { raw: { at: 136, bytes: Buffer.alloc(12, 0xff) } })),
    expect: ['negative mtime field', '"neg"'],
  },
  {
    name: 'device major over 12 bits',
    stream: tar(header('dev', { type: '3', devmajor: 4096 })),
    expect: ['device 4096:0 does not fit', '"/dev"'],
  },
  {
    name: 'mode field not octal',
    stream: tar(file('m', 'x', { raw: { at: 100, bytes: Buffer.from('0009x44\0') } })),
    expect: ['mode field is not an octal number', '"m"'],
  },
  {
    name: 'stream cut at an entry boundary',
    stream: Buffer.concat([ok, file('last')]),
    expect: ['no end-of-archive marker', '#3'],
  },
  {
    name: 'stream cut mid-header',
    stream: Buffer.concat([ok, header('half').subarray(0, 300)]),
    expect: ['archive truncated in a header', '#2'],
  },
  {
    name: 'stream cut mid-data',
    stream: Buffer.concat([ok, header('big', { size: 5000 }), Buffer.alloc(1024, 0x61)]),
    expect: ['archive truncated in entry data', '"big"', '#2'],
  },
  { name: 'empty stdin', stream: Buffer.alloc(0), expect: ['empty stream'] },
  {
    name: 'only one zero block',
    stream: Buffer.concat([ok, Buffer.alloc(512)]),
    expect: ['second block of the end-of-archive marker'],
  },
  {
    name: 'a lone zero block mid-archive',
    stream: Buffer.concat([ok, Buffer.alloc(512), file('after'), END]),
    expect: ['lone zero block'],
  },
  {
    name: 'bad header checksum',
    stream: tar(ok, file('tampered', 'x', { badChecksum: true })),
    expect: ['header checksum mismatch', '"tampered"', 'at byte 1024'],
  },
  {
    name: 'a gzip-compressed tar',
    // Lines of varying numbers, so the compressed stream is longer than one header block.
    stream: gzipSync(
      tar(file('log', Array.from({ length: 3000 }, (_, i) => `${(i * 2654435761) % 4093}`).join('\n'))),
    ),
    expect: ['not a tar archive', 'at byte 0'],
  },
  {
    name: 'file under a file',
    stream: tar(file('f'), file('f/x')),
    expect: ['a path component is not a directory', '/f'],
  },
  {
    name: 'file under a symlink aimed at a host folder',
    stream: tar(
      header('evil', { type: '2', link: '/tmp/aib-canary/victim' }),
      file('evil/keep.txt', 'pwned\n'),
    ),
    expect: ['a path component is not a directory', '/evil'],
  },
  {
    name: 'oversized size field (8 GiB declared, 1 KiB sent)',
    stream: Buffer.concat([header('huge', { size: 0o77777777777 }), Buffer.alloc(1024, 0x62)]),
    expect: ['archive truncated in entry data', '"huge"'],
  },
  {
    name: 'size field beyond 2^53 (base-256)',
    stream: tar(file('huge', 'x', { raw: { at: 124, bytes: base256(1n << 80n, 12) } })),
    expect: ['size field too large', '"huge"'],
  },
  {
    name: 'GNU long name of 1 GiB',
    stream: tar(header('././@LongLink', { type: 'L', size: 1 << 30 })),
    expect: ["'L' header of 1073741824 bytes"],
  },
  {
    name: 'malformed PAX record',
    stream: tar(
      header('PaxHeader', { type: 'x', size: 12 }),
      padded(Buffer.from('99 path=abc\n')),
      file('p'),
    ),
    expect: ['malformed PAX record'],
  },
  {
    name: 'duplicate file entry',
    stream: tar(file('dup'), file('dup', 'other')),
    expect: ['duplicate entry', '"/dup"'],
  },
  {
    name: 'NUL in a symlink target (PAX linkpath)',
    stream: tar(pax([['linkpath', 'a\0b']]), header('l', { type: '2', link: 'a' })),
    expect: ['NUL byte in symlink target', '"/l"'],
  },
  { name: 'empty name', stream: tar(file('')), expect: ['empty name'] },
];

describe('hostile tar streams through `squash - OUT`', () => {
  it.each(streams)('$name: exit 1 naming the entry, nothing left', ({ stream, expect: want }) => {
    const canary = plantCanary();
    const outDir = mkdtempSync(join(work, 'out-'));
    const r = runCli(['squash', '-', join(outDir, 'out.sqfs'), '--processors', '1'], {}, stream);
    expect(r.status, r.stderr).toBe(1);
    for (const w of want) expect(r.stderr).toContain(w);
    expect(r.stderr).toMatch(/^image-builder: tar stream: /m);
    expect(readdirSync(outDir)).toEqual([]);
    canary.check();
  });
});

// --- valid streams that look odd: they must keep working and read back through unsquashfs ----------------------

function listing(image: string): string {
  return execFileSync('unsquashfs', ['-lls', '-n', image], { encoding: 'utf8' });
}

const deep = `${'p'.repeat(200)}/${'q'.repeat(200)}/${'r'.repeat(255)}`;
const valid: { name: string; stream: Buffer; lists: RegExp[] }[] = [
  {
    name: 'GNU long name: 657-byte path, 255-byte last component',
    stream: tar(longName(deep), file(deep.slice(0, 99), 'deep\n')),
    lists: [new RegExp(`/${'r'.repeat(255)}$`, 'm')],
  },
  {
    name: 'PAX path, ./ prefix, // and trailing slashes normalised',
    stream: tar(dir('./d//'), pax([['path', './d//e.txt']]), file('x'), file('.//d/f.txt')),
    lists: [/squashfs-root\/d\/e\.txt$/m, /squashfs-root\/d\/f\.txt$/m],
  },
  {
    name: 'symlink aimed at a host path (data in the image, never followed)',
    stream: tar(header('escape', { type: '2', link: CANARY_FILE })),
    lists: [new RegExp(`squashfs-root/escape -> ${CANARY_FILE}$`, 'm')],
  },
  {
    name: 'a directory repeated (its later entry updates it)',
    stream: tar(dir('d'), file('d/a'), header('d', { type: '5', mode: 0o700 })),
    lists: [/^drwx------ .*squashfs-root\/d$/m, /squashfs-root\/d\/a$/m],
  },
];

describe('valid tar streams through `squash - OUT`', () => {
  it.each(valid)('$name', ({ stream, lists }) => {
    const canary = plantCanary();
    const out = join(mkdtempSync(join(work, 'ok-')), 'out.sqfs');
    const r = runCli(['squash', '-', out, '--processors', '1'], {}, stream);
    expect(r.status, r.stderr).toBe(0);
    const ls = listing(out);
    for (const l of lists) expect(ls).toMatch(l);
    canary.check();
  });
});

// --- hostile block cache entries --------------------------------------------------------------------------------

const src = join(work, 'cache-src');
/** The cold build with a fresh cache: what every rebuild must reproduce byte for byte. */
let reference: Buffer;

function squashCached(cache: string, out: string) {
  const args = ['--cache', cache, '--comp', 'gzip', '--block-size', '4K', '--processors', '1'];
  // A fixed SOURCE_DATE_EPOCH: the same input then gives the same bytes, so a rebuild compares with the cold one.
  return runCli(['squash', src, out, ...args], { SOURCE_DATE_EPOCH: '1700000000' });
}

/** A cache filled by one cold build; returns its entry names, largest first (a data block, not a fragment). */
function primedCache(): { cache: string; entries: string[] } {
  const cache = mkdtempSync(join(work, 'cache-'));
  const r = squashCached(cache, join(work, 'prime.sqfs'));
  expect(r.status, r.stderr).toBe(0);
  const entries = readdirSync(cache)
    .map((n) => ({ n, size: readFileSync(join(cache, n)).length }))
    .sort((a, b) => b.size - a.size || (a.n < b.n ? -1 : 1))
    .map((e) => e.n);
  return { cache, entries };
}

beforeAll(() => {
  mkdirSync(join(src, 'sub'), { recursive: true });
  // Compressible but not repetitive: every 4 KiB block differs, so each has its own entry.
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${(i * 7919) % 1000}\n`).join('');
  writeFileSync(join(src, 'text'), lines);
  writeFileSync(join(src, 'sub', 'small'), 'a small file that goes into a fragment\n');
  const cache = mkdtempSync(join(work, 'cache-ref-'));
  const out = join(work, 'reference.sqfs');
  const r = squashCached(cache, out);
  expect(r.status, r.stderr).toBe(0);
  reference = readFileSync(out);
});

interface CacheCase {
  name: string;
  /** Damages the primed cache. */
  damage: (cache: string, entries: string[]) => void;
  /** Bad entries the run must report. */
  bad: number;
  /** Entries the run cannot write back (their place is taken by something rename cannot replace). */
  unwritable?: number;
}

const first = (cache: string, entries: string[]): string => join(cache, entries[0] as string);
const cacheCases: CacheCase[] = [
  { name: 'truncated entry', damage: (c, e) => truncateSync(first(c, e), 100), bad: 1 },
  {
    name: 'zero-filled entry',
    damage: (c, e) => writeFileSync(first(c, e), Buffer.alloc(readFileSync(first(c, e)).length)),
    bad: 1,
  },
  {
    name: 'entry swapped with another entry',
    damage: (c, e) => writeFileSync(first(c, e), readFileSync(join(c, e[1] as string))),
    bad: 1,
  },
  {
    // Another block's entry with its header rewritten to claim this block: the header is consistent, so only
    // decompressing the body and comparing with the block catches it.
    name: 'forged entry: consistent header, another block inside',
    damage: (c, e) => {
      const other = readFileSync(join(c, e[1] as string));
      const claimed = Buffer.from((e[0] as string).slice(0, 64), 'hex');
      writeFileSync(first(c, e), Buffer.concat([other.subarray(0, 24), claimed, other.subarray(56)]));
    },
    bad: 1,
  },
  {
    name: 'body byte flipped, header intact',
    damage: (c, e) => {
      const b = readFileSync(first(c, e));
      b[b.length - 1] = (b[b.length - 1] as number) ^ 0xff;
      writeFileSync(first(c, e), b);
    },
    bad: 1,
  },
  {
    name: 'entry grown by a byte',
    damage: (c, e) =>
      writeFileSync(first(c, e), Buffer.concat([readFileSync(first(c, e)), Buffer.from([0])])),
    bad: 1,
  },
  {
    name: 'entry replaced by a symlink to the host canary',
    damage: (c, e) => {
      rmSync(first(c, e));
      symlinkSync(CANARY_FILE, first(c, e));
    },
    bad: 1,
  },
  {
    // A hard link is a regular file, so O_NOFOLLOW does not stop it: the entry is read (and refused), and the
    // rewrite replaces the link rather than writing into the host file.
    name: 'entry hard-linked to the host canary',
    damage: (c, e) => {
      rmSync(first(c, e));
      linkSync(CANARY_FILE, first(c, e));
    },
    bad: 1,
  },
  {
    name: 'every entry a symlink to the host canary',
    damage: (c, e) => {
      for (const n of e) {
        rmSync(join(c, n));
        symlinkSync(CANARY_FILE, join(c, n));
      }
    },
    bad: -1,
  },
  {
    name: 'entry replaced by a FIFO (must not block)',
    damage: (c, e) => {
      rmSync(first(c, e));
      execFileSync('mkfifo', [first(c, e)]);
    },
    bad: 1,
  },
  {
    name: 'entry replaced by a folder',
    damage: (c, e) => {
      rmSync(first(c, e));
      mkdirSync(join(first(c, e), 'x'), { recursive: true });
    },
    bad: 1,
    unwritable: 1,
  },
];

describe('hostile block cache entries through `squash DIR OUT --cache`', () => {
  it.each(cacheCases)(
    '$name: exit 0, same bytes as a cold build, said once',
    ({ damage, bad, unwritable }) => {
      const canary = plantCanary();
      const { cache, entries } = primedCache();
      expect(entries.length).toBeGreaterThan(2);
      damage(cache, entries);
      const outDir = mkdtempSync(join(work, 'cached-'));
      const out = join(outDir, 'out.sqfs');
      const r = squashCached(cache, out);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out).equals(reference)).toBe(true);
      expect(readdirSync(outDir)).toEqual(['out.sqfs']);
      const n = bad === -1 ? entries.length : bad;
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: block cache'));
      if (n > 0) {
        expect(warnings[0]).toContain(`${n} bad entr`);
        expect(warnings[0]).toContain(cache);
      }
      expect(warnings).toHaveLength((n > 0 ? 1 : 0) + (unwritable ? 1 : 0));
      // The bad entries were rewritten: a second run finds every block.
      if (!unwritable) {
        const again = squashCached(cache, out);
        expect(again.status, again.stderr).toBe(0);
        expect(again.stderr).not.toContain('warning');
        expect(readFileSync(out).equals(reference)).toBe(true);
      }
      canary.check();
      rmSync(cache, { recursive: true, force: true });
    },
  );

  it('cache on a read-only folder: exit 0, same bytes, says the entries could not be written', () => {
    const canary = plantCanary();
    const cache = mkdtempSync(join(work, 'ro-cache-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', cache]);
    try {
      const out = join(mkdtempSync(join(work, 'ro-out-')), 'out.sqfs');
      const r = squashCached(cache, out);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out).equals(reference)).toBe(true);
      expect(r.stderr).toMatch(/warning: block cache .*: \d+ entries could not be written/);
      expect(readdirSync(cache)).toEqual([]);
    } finally {
      execFileSync('umount', [cache]);
    }
    canary.check();
  });
});

// --- the output inside the source -------------------------------------------------------------------------------

describe('output inside the source folder', () => {
  it('leaves the image and its temp file out of the walk, on a first run and over an earlier image', () => {
    const tree = mkdtempSync(join(work, 'inside-'));
    writeFileSync(join(tree, 'a.txt'), 'a\n');
    const out = join(tree, 'out.squashfs');
    for (const round of [1, 2]) {
      const r = runCli(['squash', tree, out, '--processors', '1']);
      expect(r.status, `round ${round}: ${r.stderr}`).toBe(0);
      const ls = listing(out);
      expect(ls).toMatch(/squashfs-root\/a\.txt$/m);
      expect(ls).not.toContain('out.squashfs');
      expect(ls).not.toContain('.tmp-');
    }
    expect(existsSync(out)).toBe(true);
    expect(readdirSync(tree).sort()).toEqual(['a.txt', 'out.squashfs']);
  });
});
