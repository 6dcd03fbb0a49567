/**
 * A deterministic sample shaped like a Linux rootfs, for throughput measurement: text (configs, scripts,
 * docs), machine code (the running Node binary, a real ELF), structured tables, and incompressible data
 * (already-compressed files). Same bytes on every run of the same Node build.
 */
import { createCipheriv } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Incompressible bytes, the same for the same seed: AES-128-CTR over zeros. */
function noise(n: number, seed: number): Buffer {
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16)).update(Buffer.alloc(n));
}

const WORDS = (
  'the of and to in is for on with that by this be are from as at or an it not config file system package ' +
  'service user root default path value network kernel module boot option install version debian usr lib ' +
  'share bin etc var log error warning include return static const struct int char void if else while ' +
  'printf define endif true false none auto enable disable interface address port server client data'
).split(' ');

function fillText(out: Buffer, seed: number): void {
  const r = noise(out.length + 3, seed);
  for (let i = 0, k = 0, col = 0; i < out.length; k = (k + 3) % out.length) {
    // Zipf-like: early words far more often, as in real text.
    const w = WORDS[Math.floor(WORDS.length * (r.readUInt16LE(k) / 0x10000) ** 3)] ?? 'x';
    const sep = col > 60 ? '\n' : (r[k + 2] as number) % 11 === 0 ? ' = ' : ' ';
    col = sep === '\n' ? 0 : col + w.length + sep.length;
    i += out.write(w + sep, i, 'latin1');
  }
}

/** Fixed-size records with small counters and a few varying fields, like locale or terminfo data. */
function fillTables(out: Buffer, seed: number): void {
  const r = noise(out.length, seed);
  for (let i = 0; i + 16 <= out.length; i += 16) {
    out.writeUInt32LE(i >>> 4, i);
    out.writeUInt32LE(r[i] as number, i + 4);
    out.writeUInt32LE(0, i + 8);
    out.writeUInt32LE(0x00010000 | ((r[i + 1] as number) & 0x7), i + 12);
  }
}

/** Slices spread over a file (code, read-only data, symbol tables of an ELF); text when it cannot be read. */
function fillFromFile(out: Buffer, path: string, fallbackSeed: number): void {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const per = Math.floor(out.length / 8);
      for (let s = 0; s < 8; s++)
        readSync(fd, out, s * per, per, Math.max(0, Math.floor(((size - per) * s) / 8)));
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
    [0.4, (b) => fillText(b, 0x12)],
    [0.35, (b) => fillFromFile(b, elfPath, 0x56)],
    [0.15, (b) => fillTables(b, 0x9a)],
    [0.1, (b) => b.set(noise(b.length, 0xde))],
  ];
  let at = 0;
  parts.forEach(([share, fill], i) => {
    const len = i === parts.length - 1 ? bytes - at : Math.floor(bytes * share);
    fill(all.subarray(at, at + len));
    at += len;
  });
  return new Uint8Array(sab);
}
