/**
 * Trees the cut removes (an image's extracted files, a bundle's partition folders, cut cache entries) hold
 * whatever the image put there. Their removal (src/engine/remove-tree.ts, GNU rm) must take the tree and
 * nothing it points at, whatever its names, links and modes, and must stop at a file system mounted inside.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTree } from '../../../src/engine/remove-tree.js';
import { BuildError } from '../../../src/errors.js';
import { ROOT } from '../../helpers/cli.js';

const work = mkdtempSync('/var/tmp/remove-tree-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A folder outside the tree, and a check that it is untouched. */
function outside(name: string): { dir: string; intact: () => boolean } {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'keep'), 'host file\n');
  return { dir, intact: () => readFileSync(join(dir, 'keep'), 'utf8') === 'host file\n' };
}

describe('removeTree', () => {
  it('removes a hostile tree and nothing its links point at', async () => {
    const host = outside('host-1');
    const tree = join(work, 'tree-1');
    mkdirSync(join(tree, 'etc', 'deep', 'er'), { recursive: true });
    symlinkSync(host.dir, join(tree, 'etc', 'to-host'));
    symlinkSync(join(host.dir, 'keep'), join(tree, 'keep-link'));
    symlinkSync('../../..', join(tree, 'etc', 'deep', 'up'));
    // Names that read as options to a command that takes them so.
    for (const name of ['-rf', '--no-preserve-root', '--one-file-system', ' '])
      writeFileSync(join(tree, name), 'x');
    // A folder nobody may write or read into, and a file nobody may write.
    writeFileSync(join(tree, 'etc', 'deep', 'er', 'file'), 'x');
    chmodSync(join(tree, 'etc', 'deep', 'er', 'file'), 0o000);
    chmodSync(join(tree, 'etc', 'deep', 'er'), 0o000);

    await removeTree(tree);

    expect(existsSync(tree)).toBe(false);
    expect(host.intact()).toBe(true);
  });

  it('removes a link given as the tree, not its target', async () => {
    const host = outside('host-2');
    const link = join(work, 'link-2');
    symlinkSync(host.dir, link);
    await removeTree(link);
    expect(existsSync(link)).toBe(false);
    expect(host.intact()).toBe(true);
  });

  it('takes a path that is not there as removed', async () => {
    await expect(removeTree(join(work, 'never-made'))).resolves.toBeUndefined();
  });

  it('stops at a file system mounted inside the tree, and says so', async () => {
    // Mounting needs root: CI runs the suite as root, so this fails there rather than being skipped.
    expect(process.getuid?.()).toBe(0);
    const tree = join(work, 'tree-3');
    const mnt = join(tree, 'mnt');
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]);
    try {
      writeFileSync(join(mnt, 'keep'), 'mounted\n');
      const err = await removeTree(tree).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BuildError);
      expect((err as BuildError).message).toContain('rm');
      expect(readFileSync(join(mnt, 'keep'), 'utf8')).toBe('mounted\n');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('finishes when a Ctrl-C reaches the process group it runs in', async () => {
    // 100,000 files: rm takes long enough to be caught at work.
    const tree = join(work, 'tree-4');
    mkdirSync(tree);
    execFileSync('bash', [
      '-c',
      'cd "$1" && for i in $(seq 400); do mkdir d$i && touch d$i/f{1..250}; done',
      '-',
      tree,
    ]);
    // What a CLI run does: it handles SIGINT and cleans up (src/cli/interrupt.ts).
    const script = join(work, 'remove.mjs');
    writeFileSync(
      script,
      `import { removeTree } from ${JSON.stringify(join(ROOT, 'dist/src/engine/remove-tree.js'))};
process.on('SIGINT', () => process.stdout.write('interrupted\\n'));
await removeTree(process.argv[2]);
process.stdout.write('removed\\n');
`,
    );
    // Its own group, as a terminal's foreground job: the signal goes to that group, not to this test.
    const child = spawn(process.execPath, [script, tree], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const take = (b: Buffer) => {
      out += b.toString();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const pid = child.pid as number;
    const rmAtWork = () => spawnSync('pgrep', ['-P', String(pid), '-x', 'rm']).status === 0;
    let caught = false;
    for (let i = 0; i < 2000 && !caught; i++) {
      caught = rmAtWork();
      if (!caught) await new Promise((r) => setTimeout(r, 2));
    }
    expect(caught, 'rm was never seen at work').toBe(true);
    process.kill(-pid, 'SIGINT');
    expect(await exited, out).toBe(0);
    expect(out).toContain('interrupted');
    expect(out).toContain('removed');
    expect(existsSync(tree)).toBe(false);
  });
});
