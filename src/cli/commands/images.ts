/** `image-builder images`: the original's Make target of that name (build, ISO, every bundle packaged). */
import type { Command } from 'commander';
import { images } from '../../api.js';
import { registerBundleCommand } from './bundle-command.js';

export function registerImages(program: Command): void {
  registerBundleCommand(
    program,
    'images',
    'Build the image, cut the ephemeral ISO, then cut and package every bundle folder (the original `make images`, without its final clean).',
    images,
    (r) => {
      process.stdout.write(`${r.build.imageRef} ${r.build.imageId}\n`);
      for (const a of r.iso) process.stdout.write(`${a.file}\n`);
      for (const b of r.bundles)
        process.stdout.write(`${b.imageRef} ${b.imageId}${b.pushed ? ' pushed' : ''}\n`);
    },
  );
}
