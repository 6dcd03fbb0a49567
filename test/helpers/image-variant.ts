/**
 * Test images made from another by a shell snippet: run as root in a throw-away container of `base` (no
 * network), committed as `ref`. For hostile images, whose files or tools are what a test is about.
 */
import { spawnSync } from 'node:child_process';

export function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Commits `base` plus `setup` (sh, `set -e`) as `ref`. */
export function imageVariant(base: string, ref: string, setup: string): string {
  const name = `aib-variant-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  docker([
    'run',
    '--network',
    'none',
    '--name',
    name,
    '--entrypoint',
    '/bin/sh',
    base,
    '-c',
    `set -e; ${setup}`,
  ]);
  try {
    docker(['commit', name, ref]);
    return ref;
  } finally {
    docker(['rm', '-f', name]);
  }
}

/** Variants made by one test file: tagged `repo:<tag>-<pid>`, removed together by `removeAll`. */
export function variantsIn(repo: string): {
  make(base: string, tag: string, setup: string): string;
  removeAll(): void;
} {
  const made: string[] = [];
  return {
    make(base, tag, setup) {
      const ref = imageVariant(base, `${repo}:${tag}-${process.pid}`, setup);
      made.push(ref);
      return ref;
    },
    removeAll() {
      for (const ref of made.splice(0)) spawnSync('docker', ['rmi', '-f', ref]);
    },
  };
}
