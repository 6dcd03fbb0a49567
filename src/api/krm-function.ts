/**
 * The KRM function script shipped in every QCOW bundle image (defaults/krm/variable-catalogue.py), found
 * beside the package like the bundled manifests.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bundledManifestsDir } from '../config/load.js';

/**
 * The function's bytes.
 * @throws Error when the package was installed without its defaults folder.
 */
export async function krmFunctionFile(): Promise<Buffer> {
  return readFile(join(dirname(bundledManifestsDir()), 'krm', 'variable-catalogue.py'));
}
