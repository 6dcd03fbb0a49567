/** `image-builder squash`: the native SquashFS writer on a directory or a tar stream, progress on stderr. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Compression, squash } from '../../api.js';
import { BLOCK_SIZE, COMPRESSOR_NAMES, defaultLevelsText, levelRangesText } from '../../compressors.js';
import { progressOption, withProgress } from '../progress-render.js';
import { action } from '../run.js';

function int(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} expects a whole number, got ${v}`);
    return Number(v);
  };
}

function size(v: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected bytes, or a number with K or M, got ${v}`);
  const unit = (m[2] ?? '').toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1 << 20 : 1);
}

export function registerSquash(program: Command): void {
  program
    .command('squash')
    .description(
      'Write a SquashFS image from a directory or a tar stream (`-` reads stdin) with the native writer.',
    )
    .argument('<src>', 'directory, or - for a tar stream on stdin')
    .argument('<out>', 'SquashFS file to write')
    .addOption(new Option('--comp <name>', 'compressor').choices(COMPRESSOR_NAMES).default('gzip'))
    .option(
      '--level <n>',
      `compression level: ${levelRangesText()} (default: ${defaultLevelsText()})`,
      int('--level'),
    )
    .option(
      '--block-size <bytes>',
      `data block size, ${BLOCK_SIZE.min >> 10}K to ${BLOCK_SIZE.max >> 20}M (default: ${BLOCK_SIZE.default >> 10}K)`,
      size,
    )
    .option('--processors <n>', 'compression threads (default: CPUs)', int('--processors'))
    .option(
      '-e, --exclude <path>',
      'leave out this path (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--no-xattrs', 'leave out extended attributes')
    .option('--all-root', 'make every entry owned by root')
    .option('--cache <dir>', 'keep compressed blocks here and reuse them on the next run')
    .addOption(progressOption())
    .action(
      action(async (signal, src: string, out: string, opts: Record<string, unknown>) => {
        await withProgress(opts, (onProgress) =>
          squash({
            source: src === '-' ? process.stdin : src,
            out,
            comp: opts.comp as Compression,
            ...(opts.level !== undefined ? { level: opts.level as number } : {}),
            ...(opts.blockSize !== undefined ? { blockSize: opts.blockSize as number } : {}),
            ...(opts.processors !== undefined ? { processors: opts.processors as number } : {}),
            exclude: opts.exclude as string[],
            noXattrs: opts.xattrs === false,
            allRoot: opts.allRoot === true,
            ...(opts.cache ? { cacheDir: opts.cache as string } : {}),
            signal,
            onProgress,
          }),
        );
      }),
    );
}
