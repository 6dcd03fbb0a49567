/**
 * Reading the manifests folder: vars files (following one-line references), JSON and plain text. A manifest
 * file must be a regular file of at most {@link MAX_MANIFEST_BYTES} of UTF-8 text inside its manifests folder;
 * anything else (a FIFO, socket, device or folder in its place, a dangling symlink, a symlink or reference
 * leading out of the folder, an unreadable file) is a finding about that file, decided without blocking.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Diagnostic, SourcePosition } from '../errors.js';
import { jsonErrorOffset } from './json-position.js';
import { parseYamlSource, type Source } from './yaml-source.js';

/**
 * Far larger than any real manifest (the original's biggest is 12 KiB); a bigger file is refused unread.
 * Not 4 MiB: the YAML parser reads about half a megabyte a second (4 MiB of list items took 15 s, 1 MiB 2 s,
 * measured 2026-12 on a shared 2-core machine).
 */
export const MAX_MANIFEST_BYTES = 2 ** 20;

export async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Whether anything (a file, folder, FIFO, dangling symlink…) is at `p`. */
export async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

function fileProblem(file: string, message: string, position?: SourcePosition): Diagnostic {
  return { severity: 'error', file, key: '', ...(position ? { position } : {}), message };
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'a special file';
}

/** Whether `path` is `root` or below it (both absolute, resolved). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The text of a manifest file, or the finding that stops it from being one. */
export type ReadResult = { text: string } | { problem: Diagnostic };

/**
 * Reads one manifest file. Opened non-blocking (a FIFO neither blocks nor is read) and checked with fstat
 * before any byte is read; the real path of the open file must lie inside `root`.
 * @param root the manifests folder the file belongs to; undefined when the file may be anywhere.
 */
export async function readManifestFile(file: string, root?: string): Promise<ReadResult> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') {
      const link = await readlink(file).catch(() => undefined);
      if (link !== undefined) {
        return { problem: fileProblem(file, `is a symlink to ${link}, which does not exist (or loops)`) };
      }
      return { problem: fileProblem(file, 'does not exist') };
    }
    if (code === 'EACCES' || code === 'EPERM')
      return { problem: fileProblem(file, 'cannot be read: permission denied') };
    if (code === 'ENXIO') return { problem: fileProblem(file, 'is a socket, not a regular file') };
    return { problem: fileProblem(file, `cannot be opened: ${(err as Error).message}`) };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { problem: fileProblem(file, `is ${kindOf(st)}, not a regular file`) };
    if (root !== undefined) {
      const real = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(file));
      const realRoot = await realpath(root).catch(() => resolve(root));
      if (!inside(realRoot, real)) {
        return {
          problem: fileProblem(
            file,
            `leads to ${real}, outside the manifests folder ${root}; a manifest file must lie inside it`,
          ),
        };
      }
    }
    if (st.size > MAX_MANIFEST_BYTES) {
      return {
        problem: fileProblem(
          file,
          `is ${st.size} bytes; a manifest file may hold at most ${MAX_MANIFEST_BYTES} (1 MiB)`,
        ),
      };
    }
    // The size can lie (files in /proc, a file growing while read): never read past the cap.
    const buf = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > MAX_MANIFEST_BYTES) {
        return {
          problem: fileProblem(
            file,
            `holds more than ${MAX_MANIFEST_BYTES} bytes (1 MiB), the most a manifest file may hold`,
          ),
        };
      }
    }
    return decodeUtf8(buf.subarray(0, got), file);
  } catch (err) {
    return { problem: fileProblem(file, `cannot be read: ${(err as Error).message}`) };
  } finally {
    await handle.close();
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
function firstBadUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const need =
      c < 0x80
        ? 0
        : c >= 0xc2 && c <= 0xdf
          ? 1
          : c >= 0xe0 && c <= 0xef
            ? 2
            : c >= 0xf0 && c <= 0xf4
              ? 3
              : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    // Overlong forms, surrogates and code points past U+10FFFF.
    const n = b[i + 1] ?? 0;
    if (
      (c === 0xe0 && n < 0xa0) ||
      (c === 0xed && n > 0x9f) ||
      (c === 0xf0 && n < 0x90) ||
      (c === 0xf4 && n > 0x8f)
    ) {
      return i;
    }
    i += need + 1;
  }
  return -1;
}

/** UTF-8 text, or a finding at the first byte that is not. */
function decodeUtf8(bytes: Buffer, file: string): ReadResult {
  const bad = firstBadUtf8(bytes);
  if (bad < 0) return { text: bytes.toString('utf8') };
  const lineStart = bad === 0 ? 0 : bytes.lastIndexOf(0x0a, bad - 1) + 1;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
  return {
    problem: fileProblem(
      file,
      `is not UTF-8 text (byte 0x${bytes[bad]!.toString(16)}); a manifest file must be UTF-8`,
      {
        line,
        column: bad - lineStart + 1,
      },
    ),
  };
}

/** A file whose whole content is one relative path, as the original's bundles use to share a qcow-vars.yaml. */
const REFERENCE = /^\.{0,2}[\w.-]*(?:\/[\w.-]+)+$|^[\w.-]+\.ya?ml$/;

function failed(file: string, problem: Diagnostic): Source {
  return { file, vars: {}, problems: [problem], locate: (p) => ({ rest: p }) };
}

/**
 * Reads a vars file. A file holding only a path to a sibling file (`../control-plane/qcow-vars.yaml`) is read
 * as that file; a symlink is followed by the file system. Both must stay inside `root`. Every problem (file
 * kind, size, encoding, syntax, a missing target) is returned as a diagnostic of the source.
 */
export async function readVarsFile(path: string, root?: string): Promise<Source> {
  let current = path;
  for (let hop = 0; hop < 5; hop++) {
    const read = await readManifestFile(current, root);
    if ('problem' in read) return failed(current, read.problem);
    const trimmed = read.text.trim();
    if (!trimmed.includes('\n') && REFERENCE.test(trimmed)) {
      const target = join(dirname(current), trimmed);
      if (root !== undefined && !inside(resolve(root), resolve(target))) {
        return failed(
          current,
          fileProblem(
            current,
            `refers to ${trimmed} (${resolve(target)}), outside the manifests folder ${root}`,
            { line: 1, column: 1 },
          ),
        );
      }
      if (!(await exists(target))) {
        return failed(
          current,
          fileProblem(current, `refers to ${trimmed} (${resolve(target)}), which does not exist`, {
            line: 1,
            column: 1,
          }),
        );
      }
      current = target;
      continue;
    }
    return parseYamlSource(read.text, current);
  }
  return failed(path, fileProblem(path, 'too many file references in a row (a loop?)'));
}

/** Line and column of a character offset. */
export function positionOfOffset(text: string, offset: number): SourcePosition {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** Parses JSON; a syntax error becomes a diagnostic with line:column. */
export function parseJsonFile(text: string, file: string): { value?: unknown; problem?: Diagnostic } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    const msg = (err as Error).message;
    const found = jsonErrorOffset(text);
    const at = /at position (\d+)/.exec(msg);
    const offset = found >= 0 ? found : at ? Number(at[1]) : text.length;
    return {
      problem: {
        severity: 'error',
        file,
        key: '',
        position: positionOfOffset(text, offset),
        message: `invalid JSON: ${offset >= text.length ? 'the text ends too early' : `unexpected ${JSON.stringify(text[offset])}`}`,
      },
    };
  }
}
