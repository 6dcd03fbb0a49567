import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BuildError, type BuildResult, build, cpuVerdict, type ProgressEvent } from '../../api.js';
import { action } from '../run.js';
import { addSettingOptions, settingsFrom } from '../settings-options.js';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function progressLine(e: ProgressEvent): string | null {
  switch (e.kind) {
    case 'start':
      return `${e.stage}: running${e.message ? ` (${e.message})` : ''}`;
    case 'done':
      return `${e.stage}: done${e.elapsedMs !== undefined ? ` in ${seconds(e.elapsedMs)}` : ''}`;
    case 'reused':
    case 'skipped':
    case 'info':
    case 'warning':
      return `${e.stage}: ${e.message ?? e.kind}`;
    default:
      return null;
  }
}

export function timingTable(r: BuildResult): string {
  const rows = r.timings.map(
    (t) => `  ${t.stage.padEnd(10)} ${t.outcome.padEnd(8)} ${seconds(t.ms).padStart(9)}`,
  );
  const total = r.timings.reduce((a, t) => a + t.ms, 0);
  return [
    '  stage      outcome      time',
    ...rows,
    `  ${'total'.padEnd(10)} ${''.padEnd(8)} ${seconds(total).padStart(9)}`,
  ].join('\n');
}

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
  addSettingOptions(cmd, 'build').action(
    action(async (signal, opts: Record<string, unknown>) => {
      // Advice only: a CPU that hides compression flags makes the squashfs step slow, never wrong.
      const cpu = cpuVerdict();
      if (cpu?.warning) process.stderr.write(`warning: ${cpu.warning}\n`);
      try {
        const result = await build({
          settings: settingsFrom(opts),
          signal,
          onProgress: (e) => {
            const line = progressLine(e);
            if (line) process.stdout.write(`${line}\n`);
          },
        });
        process.stdout.write(`${timingTable(result)}\n`);
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
