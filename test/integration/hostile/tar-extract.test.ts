/**
 * The image's root filesystem reaches the cut as a tar stream unpacked by GNU tar (src/engine/tar-extract.ts).
 * A stream whose later members go through an earlier member's symlink must not write outside the target:
 * GNU tar extracts a link that points outside (absolute or climbing) as a placeholder and makes the real
 * link only at the end, so a member below it fails. This pins that behaviour of the tar we run; Docker's
 * export cannot produce such a stream, so it is tested here on extractTar itself rather than through the CLI.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { extractTar } from '../../../src/engine/tar-extract.js';
import { BuildError } from '../../../src/errors.js';

const work = mkdtempSync('/var/tmp/tar-escape-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Entry = {
  name: string;
  type: 'file' | 'symlink' | 'link' | 'directory';
  linkname?: string;
  body?: string;
};

function stream(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const e of entries)
    pack.entry(
      {
        name: e.name,
        type: e.type,
        mode: e.type === 'directory' ? 0o755 : 0o644,
        mtime: new Date(0),
        ...(e.linkname ? { linkname: e.linkname } : {}),
      },
      e.body ?? '',
    );
  pack.finalize();
  return pack as unknown as Readable;
}

function hostFolder(n: number): { host: string; snapshot: () => string } {
  const host = join(work, `host-${n}`);
  mkdirSync(host);
  writeFileSync(join(host, 'secret'), 'host secret\n');
  const snapshot = () =>
    readdirSync(host)
      .sort()
      .map((f) => `${f}:${lstatSync(join(host, f)).mtimeMs}:${readFileSync(join(host, f), 'utf8')}`)
      .join('|');
  return { host, snapshot };
}

const CASES: [string, (host: string) => Entry[]][] = [
  [
    'an absolute symlink folder, then a file through it',
    (h) => [
      { name: 'etc', type: 'symlink', linkname: h },
      { name: 'etc/secret', type: 'file', body: 'overwritten\n' },
      { name: 'etc/new', type: 'file', body: 'planted\n' },
    ],
  ],
  [
    'a climbing relative symlink folder, then a file through it',
    (h) => [
      { name: 'rel', type: 'symlink', linkname: `../../../../../../..${h}` },
      { name: 'rel/secret', type: 'file', body: 'overwritten\n' },
    ],
  ],
  [
    'a chain of symlinks, then a file through it',
    (h) => [
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: h },
      { name: 'a/secret', type: 'file', body: 'overwritten\n' },
    ],
  ],
  [
    'a hard link whose target goes through a symlink, then a write to it',
    (h) => [
      { name: 'etc', type: 'symlink', linkname: h },
      { name: 'grab', type: 'link', linkname: 'etc/secret' },
    ],
  ],
];

describe('extractTar and members escaping through an earlier symlink', () => {
  it.each(CASES.map(([name, entries], n) => [name, entries, n] as const))(
    '%s: refused, host untouched',
    async (_name, entries, n) => {
      const { host, snapshot } = hostFolder(n);
      const before = snapshot();
      const dir = join(work, `out-${n}`);
      mkdirSync(dir);
      await expect(
        extractTar(stream(entries(host)), dir, { stateFile: join(work, `state-${n}`) }),
      ).rejects.toThrow(BuildError);
      expect(snapshot()).toBe(before);
      // Whatever link was made stays a link inside the target; no member was written through it.
      for (const f of readdirSync(dir)) expect(lstatSync(join(dir, f)).isFile()).toBe(false);
    },
  );
});
