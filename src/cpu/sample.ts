/**
 * A deterministic sample shaped like a Linux rootfs, for throughput measurement: text (configs, scripts,
 * docs), machine code (the running Node binary, a real ELF), structured tables, and incompressible data
 * (already-compressed files). Same bytes on every run of the same Node build.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** xorshift32: a tiny seeded generator, good enough to make bytes. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS = (
  'the of and to in is for on with that by this be are from as at or an it not config file system package ' +
  'service user root default path value network kernel module boot option install version debian usr lib ' +
  'share bin etc var log error warning include return static const struct int char void if else while ' +
  'printf define endif true false none auto enable disable interface address port server client data'
).split(' ');

function fillText(out: Buffer, seed: number): void {
  const next = rng(seed);
  let i = 0;
  let col = 0;
  while (i < out.length) {
    const r = next();
    // Zipf-like: early words far more often, as in real text.
    const w = WORDS[Math.floor(WORDS.length * ((r & 0xffff) / 0x10000) ** 3)] ?? 'x';
    const sep = col > 60 ? '\n' : (r >>> 16) % 11 === 0 ? ' = ' : ' ';
    const s = w + sep;
    col = sep === '\n' ? 0 : col + s.length;
    i += out.write(s, i, 'latin1');
  }
}

function fillTables(out: Buffer, seed: number): void {
  const next = rng(seed);
  // Fixed-size records with small counters and a few varying fields, like locale or terminfo data.
  for (let i = 0; i + 16 <= out.length; i += 16) {
    out.writeUInt32LE(i >>> 4, i);
    out.writeUInt32LE(next() & 0xff, i + 4);
    out.writeUInt32LE(0, i + 8);
    out.writeUInt32LE(0x00010000 | (next() & 0x7), i + 12);
  }
}

function fillRandom(out: Buffer, seed: number): void {
  const next = rng(seed);
  for (let i = 0; i + 4 <= out.length; i += 4) out.writeUInt32LE(next(), i);
}

function fillFromFile(out: Buffer, path: string, fallbackSeed: number): void {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      // Several slices spread over the file: code, read-only data, symbol tables.
      const slices = 8;
      const per = Math.floor(out.length / slices);
      for (let s = 0; s < slices; s++) {
        const at = Math.floor(((size - per) * s) / slices);
        readSync(fd, out, s * per, per, Math.max(0, at));
      }
    } finally {
      closeSync(fd);
    }
  } catch {
    fillText(out, fallbackSeed);
  }
}

/** Builds the sample: `bytes` long (a multiple of 1 MiB is best), in a SharedArrayBuffer for workers. */
export function makeSample(bytes: number, elfPath: string = process.execPath): Uint8Array {
  const sab = new SharedArrayBuffer(bytes);
  const all = Buffer.from(sab);
  const parts: [number, (b: Buffer) => void][] = [
    [0.4, (b) => fillText(b, 0x1234)],
    [0.35, (b) => fillFromFile(b, elfPath, 0x5678)],
    [0.15, (b) => fillTables(b, 0x9abc)],
    [0.1, (b) => fillRandom(b, 0xdef0)],
  ];
  let at = 0;
  parts.forEach(([share, fill], i) => {
    const len = i === parts.length - 1 ? bytes - at : Math.floor(bytes * share);
    fill(all.subarray(at, at + len));
    at += len;
  });
  return new Uint8Array(sab);
}
