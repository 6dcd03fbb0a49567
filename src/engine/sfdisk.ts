/** sfdisk on a plain file: writes a GPT from a script, never touching a block device. */
import { run } from './exec.js';

/** Writes the partition table described by `script` (sfdisk input format) into `disk`. @throws BuildError */
export async function writePartitionTable(
  disk: string,
  script: string,
  opts: { logFile?: string; signal?: AbortSignal } = {},
): Promise<void> {
  await run('sfdisk', ['--no-reread', '--no-tell-kernel', '--wipe', 'always', disk], {
    input: script,
    ...(opts.logFile ? { logFile: opts.logFile } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

export interface GptPartitionFacts {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
}

/** Reads the partition table of `disk` back as sfdisk's JSON dump. */
export async function readPartitionTable(
  disk: string,
): Promise<{ label: string; id: string; partitions: GptPartitionFacts[] }> {
  const r = await run('sfdisk', ['--json', disk]);
  const j = JSON.parse(r.stdout) as {
    partitiontable: { label: string; id: string; partitions: GptPartitionFacts[] };
  };
  return j.partitiontable;
}
