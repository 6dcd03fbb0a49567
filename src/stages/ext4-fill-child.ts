/**
 * The ext4 fill as a program of its own, for cuts without root: run under fakeroot (engine/mkfs.ts
 * `runUnderFakeroot`), its `fstatat` calls see the owners, modes and device numbers the extraction recorded,
 * so it writes the same filesystem as the in-process fill of a root cut.
 *
 * usage: node ext4-fill-child.js DISK OFFSET ROOT EPOCH — prints `{inodes,bytes}` as JSON; on failure the
 * addon's error (`{code,path,message}`) as JSON on stderr and exit 1.
 */
import { native } from '../squashfs/native.js';

const [disk, offset, root, epoch] = process.argv.slice(2);
try {
  const r = await native().ext4Fill(
    Buffer.from(disk ?? ''),
    Number(offset),
    Buffer.from(root ?? ''),
    Number(epoch),
    new Int32Array(new SharedArrayBuffer(4)),
  );
  // The record of copied runs stays here: a fill under fakeroot is never a base (stages/qcow-filesystems.ts).
  process.stdout.write(`${JSON.stringify({ inodes: r.inodes, bytes: r.bytes })}\n`);
} catch (err) {
  const e = err as { code?: string; path?: string; message: string };
  process.stderr.write(`${JSON.stringify({ code: e.code, path: e.path, message: e.message })}\n`);
  process.exitCode = 1;
}
