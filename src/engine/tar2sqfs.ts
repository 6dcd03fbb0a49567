/**
 * Interim squashfs writer: squashfs-tools-ng's tar2sqfs fed a tar stream on stdin. Used by the livecd
 * stage only until the native writer's `squash()` API is on main.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { BuildError } from '../errors.js';

/**
 * Writes `out` from the tar stream `tar`.
 * @throws BuildError when tar2sqfs fails or is aborted.
 */
export function tar2sqfs(
  tar: Readable,
  out: string,
  opts: { compressor: string; logFile: string; signal?: AbortSignal },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    const args = ['-q', '-f', '-c', opts.compressor, out];
    log.write(`$ tar2sqfs ${args.join(' ')} < (tar stream)\n`);
    const child = spawn('tar2sqfs', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (b: Buffer) => {
      tail = (tail + b.toString()).slice(-4000);
      log.write(b);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    tar.on('error', (err) => {
      child.kill('SIGTERM');
      reject(new BuildError(`tar stream for tar2sqfs failed: ${err.message}`, { logFile: opts.logFile }));
    });
    // tar2sqfs may exit early on error; its stdin then errors with EPIPE, reported by the exit code instead.
    child.stdin.on('error', () => {});
    tar.pipe(child.stdin);
    child.on('error', (err) => reject(new BuildError(`tar2sqfs: cannot start (${err.message})`)));
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      log.end();
      if (code === 0 && !opts.signal?.aborted) resolve();
      else
        reject(
          new BuildError(
            `tar2sqfs ${opts.signal?.aborted ? 'aborted' : `exited with code ${code}`}:\n${tail}`,
            {
              logFile: opts.logFile,
              logTail: tail,
            },
          ),
        );
    });
  });
}
