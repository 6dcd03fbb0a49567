/** `image-builder build`: runs the build with progress on stderr and prints the image and log on stdout. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BuildError, build, cpuVerdict } from '../../api.js';
import { addProgressOption, withProgress } from '../progress-render.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

async function logTail(file: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function registerBuild(program: Command): void {
  const cmd = program
    .command('build')
    .description(
      'Build the base container image: rootfs (mmdebstrap), image import, osconfig (Ansible), live-CD content (squashfs, kernel, grub).',
    );
  addProgressOption(addSettingOptions(cmd, 'build')).action(
    action(async (signal, opts: Record<string, unknown>) => {
      // Advice only: a CPU that hides compression flags makes the squashfs step slow, never wrong.
      const cpu = cpuVerdict();
      if (cpu?.warning) process.stderr.write(`warning: ${cpu.warning}\n`);
      try {
        const result = await withProgress(opts, (onProgress) =>
          build({ settings: settingsFrom(opts), signal, onProgress }),
        );
        // stdout carries the result alone; progress and the table of steps went to stderr.
        process.stdout.write(`image: ${result.imageRef} (${result.imageId})\nlog: ${result.logFile}\n`);
      } catch (err) {
        if (!signal.aborted && err instanceof BuildError && err.details.logFile) {
          const tail = await logTail(err.details.logFile);
          if (tail) process.stderr.write(`--- last lines of ${err.details.logFile} ---\n${tail}\n---\n`);
        }
        throw err;
      }
    }),
  );
}
