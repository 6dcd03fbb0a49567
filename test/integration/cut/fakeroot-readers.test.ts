/**
 * The filesystems of one disk are made side by side from one fakeroot state file when the cut runs without
 * root. Those runs only read it: a run that saved it would rewrite it in place while another loads it, and that
 * one fails ("Database load failed").
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { mkExt4, mkXfs, runUnderFakeroot } from '../../../src/engine/mkfs.js';
import { fakerootArgv } from '../../../src/engine/tar-extract.js';

const work = mkdtempSync(join(tmpdir(), 'fakeroot-readers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

it('mke2fs, mkfs.xfs and the fill load the state without writing it back, side by side', async () => {
  const tree = join(work, 'tree');
  mkdirSync(tree);
  const file = join(tree, 'owned');
  writeFileSync(file, 'x');
  const state = join(work, 'tree.state');
  writeFileSync(state, '');
  const [cmd, argv] = fakerootArgv('chown', ['123:456', file], state, 'saved');
  execFileSync(cmd, argv);
  const recorded = readFileSync(state);
  const mtime = statSync(state).mtimeMs;
  expect(recorded.length).toBeGreaterThan(0);

  const statScript = join(work, 'owner.mjs');
  writeFileSync(
    statScript,
    "import { statSync } from 'node:fs';\nconst s = statSync(process.argv[2]);\nprocess.stdout.write(s.uid + ':' + s.gid);\n",
  );
  const disk = (name: string, bytes: number) => {
    const f = join(work, name);
    writeFileSync(f, '');
    truncateSync(f, bytes);
    return f;
  };
  const proto = join(work, 'xfs.proto');
  writeFileSync(proto, 'boot\n0 0\nd--755 0 0\n$\n');
  // As a user other than root: every call goes through fakeroot with the state file.
  vi.spyOn(process, 'getuid').mockReturnValue(1000);
  const common = { sourceDateEpoch: 1_700_000_000, fakerootState: state };
  const runs = [0, 1, 2].flatMap((k) => [
    mkExt4({ ...common, file: disk(`ext4-${k}`, 64 << 20), uuid: `0b5e6f1c-3a57-4d38-9c1e-5b8a2f7d9e0${k}` }),
    mkXfs({
      ...common,
      file: disk(`xfs-${k}`, 320 << 20),
      uuid: `1b5e6f1c-3a57-4d38-9c1e-5b8a2f7d9e0${k}`,
      protofile: proto,
    }),
    runUnderFakeroot(statScript, [file], { fakerootState: state }),
  ]);
  const owners = (await Promise.all(runs)).filter((o) => typeof o === 'string');
  expect(owners).toEqual(['123:456', '123:456', '123:456']);
  expect(readFileSync(state)).toEqual(recorded);
  expect(statSync(state).mtimeMs).toBe(mtime);
});
