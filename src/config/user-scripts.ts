/**
 * The original's script folders: every file in `scripts/<run context>/` of the manifests folder (and of the
 * profile overlay, which replaces a script of the same name) runs in that context, in name order, after the
 * `user_scripts` list — `scripts/common/` in the shared base image, `scripts/qcow/` in each QCOW. A
 * `README.md` there is documentation, as in the original. Each script is read like any manifest file (a
 * regular UTF-8 file inside the folder, 1 MiB at most), so a symlink cannot carry a host file into the image.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { isDir, readManifestFile } from './files.js';
import type { OsconfigUserScript, RunContext } from './types.js';

/** Run contexts in the order their folders are read; the folder name is the context's name. */
export const SCRIPT_CONTEXTS: readonly RunContext[] = ['common', 'qcow'];

/**
 * The scripts of the user's roots (manifests folder, then profile overlay), ready to append to `user_scripts`.
 * @returns the scripts and a finding for each file that cannot be used.
 */
export async function loadScriptFolders(
  roots: readonly string[],
): Promise<{ scripts: OsconfigUserScript[]; diagnostics: Diagnostic[] }> {
  const scripts: OsconfigUserScript[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const context of SCRIPT_CONTEXTS) {
    const byName = new Map<string, { root: string; path: string }>();
    for (const root of roots) {
      const dir = join(root, 'scripts', context);
      if (!(await isDir(dir))) continue;
      for (const name of await readdir(dir)) {
        if (name === 'README.md') continue;
        byName.set(name, { root, path: join(dir, name) });
      }
    }
    for (const name of [...byName.keys()].sort()) {
      const { root, path } = byName.get(name) as { root: string; path: string };
      const read = await readManifestFile(path, root);
      if ('problem' in read) {
        diagnostics.push({ ...read.problem, key: `scripts/${context}/${name}` });
        continue;
      }
      if (read.text.includes('\0')) {
        diagnostics.push({
          severity: 'error',
          file: path,
          key: `scripts/${context}/${name}`,
          message: 'a script here must be text (it is run as a shell script or through its #! line)',
        });
        continue;
      }
      scripts.push({ file_content: read.text, run_contexts: [context] });
    }
  }
  return { scripts, diagnostics };
}
