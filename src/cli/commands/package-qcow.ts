/** `image-builder package-qcow`: the original's `make package_qcow` (src/api/package-qcow.ts). */
import type { Command } from 'commander';
import { packageQcow } from '../../api.js';
import { registerBundleCommand } from './bundle-command.js';

export function registerPackageQcow(program: Command): void {
  registerBundleCommand(
    program,
    'package-qcow',
    "Cut what is missing, then package each bundle folder's QCOW2s, md5sums and profiles into an image (a KRM function) on top of the built image; push it with PUSH_IMAGE.",
    packageQcow,
    (out) => {
      for (const r of out) process.stdout.write(`${r.imageRef} ${r.imageId}${r.pushed ? ' pushed' : ''}\n`);
    },
  );
}
