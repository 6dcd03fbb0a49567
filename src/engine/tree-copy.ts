/**
 * A hard-linked copy of an extracted tree (`cp -a -l`): folders are new, files are shared inodes. Each QCOW
 * bundle gets one to change, so the image is exported and unpacked once per cut; whatever replaces a file in
 * the copy must unlink it first (GNU tar does, and so does stages/tree-fs ImageTree.writeFile).
 */
import { run } from './exec.js';
import { asRoot } from './tar-extract.js';

/**
 * Copies the tree `src` to `dst` (which must not exist) with hard links; under fakeroot with `stateFile`
 * when not root, so the copy's folders keep their recorded owners.
 * @throws BuildError when cp fails.
 */
export async function linkCopy(
  src: string,
  dst: string,
  o: { stateFile: string; logFile?: string; signal?: AbortSignal },
): Promise<void> {
  const [cmd, argv] = asRoot('cp', ['-a', '-l', '-T', '--', src, dst], o.stateFile, 'saved');
  await run(cmd, argv, {
    captureStdout: false,
    ...(o.logFile ? { logFile: o.logFile } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
}
