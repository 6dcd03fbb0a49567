/** `image-builder clean`: the original's Make target, limited to what this configuration made (src/api/clean.ts). */
import type { Command } from 'commander';
import { clean } from '../../api.js';
import { registerBundleCommand } from './bundle-command.js';

export function registerClean(program: Command): void {
  registerBundleCommand(
    program,
    'clean',
    "Remove this configuration's ISO and QCOW2 artifacts, its built and bundle images (only those this tool made), and dead runs' leftovers.",
    // Removal runs to its end: an interrupted clean would leave half of what it was asked to remove.
    ({ signal: _, ...o }) => clean(o),
    (r) => {
      for (const f of r.files) process.stdout.write(`removed ${f}\n`);
      for (const i of r.images) process.stdout.write(`removed image ${i}\n`);
      for (const i of r.kept) process.stdout.write(`kept image ${i} (not made by image-builder)\n`);
    },
  );
}
