/**
 * Running external programs: the one place (with the Docker client) where the project spawns processes.
 * Every run can be aborted, has an optional time limit, and keeps the tail of its output for error messages.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { BuildError } from '../errors.js';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, then stdin is closed. */
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Kill the child (SIGTERM, then SIGKILL after 5 s) when it runs longer than this. */
  timeoutMs?: number;
  /** Append stdout and stderr to this file (the stage log). */
  logFile?: string;
  /** Called with each chunk of output as it arrives (for progress). */
  onOutput?: (chunk: string) => void;
  /** Strings to mask in logs and error messages (passwords, proxy credentials). */
  secrets?: readonly string[];
  /** Keep stdout in memory (default true); turn off for chatty commands that only log. */
  captureStdout?: boolean;
  /** Exit codes treated as success (default [0]). */
  okCodes?: readonly number[];
  /**
   * Run the child in its own process group and signal the whole group on abort/timeout: for programs whose
   * forked workers would otherwise outlive them and keep the output pipes open (ansible-playbook).
   */
  processGroup?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const TAIL_BYTES = 4000;

export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

/**
 * Runs `cmd args…` and resolves with its output.
 * @throws BuildError when it exits non-zero, is killed, times out or is aborted; the message ends with the
 *   tail of its output.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { signal, timeoutMs, secrets = [], captureStdout = true, okCodes = [0] } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new BuildError(`${cmd}: aborted before start`));
      return;
    }
    const log: WriteStream | undefined = opts.logFile
      ? createWriteStream(opts.logFile, { flags: 'a' })
      : undefined;
    log?.write(`$ ${maskSecrets([cmd, ...args].join(' '), secrets)}\n`);
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: opts.processGroup === true,
    });
    let stdout = '';
    let stderr = '';
    let tail = '';
    let killedFor: string | undefined;
    const onChunk = (buf: Buffer, isOut: boolean) => {
      const s = buf.toString('utf8');
      if (isOut && captureStdout) stdout += s;
      if (!isOut) stderr += s;
      tail = (tail + s).slice(-TAIL_BYTES);
      log?.write(maskSecrets(s, secrets));
      opts.onOutput?.(s);
    };
    child.stdout.on('data', (b: Buffer) => onChunk(b, true));
    child.stderr.on('data', (b: Buffer) => onChunk(b, false));
    const signalChild = (sig: NodeJS.Signals) => {
      if (opts.processGroup && child.pid !== undefined) {
        try {
          process.kill(-child.pid, sig);
          return;
        } catch {
          // the group is gone already
        }
      }
      child.kill(sig);
    };
    const kill = (why: string) => {
      killedFor = why;
      signalChild('SIGTERM');
      setTimeout(() => signalChild('SIGKILL'), 5000).unref();
    };
    const onAbort = () => kill('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeoutMs
      ? setTimeout(() => kill(`timed out after ${Math.round(timeoutMs / 1000)} s`), timeoutMs)
      : undefined;
    child.on('error', (err) => {
      cleanup();
      reject(new BuildError(`${cmd}: cannot start (${err.message}); is it installed?`, {}, { cause: err }));
    });
    child.on('close', (code, sig) => {
      cleanup();
      const c = code ?? -1;
      if (!killedFor && okCodes.includes(c)) {
        resolve({ code: c, stdout, stderr });
        return;
      }
      const why = killedFor ?? (sig ? `killed by ${sig}` : `exited with code ${c}`);
      const masked = maskSecrets(tail.trim(), secrets);
      reject(
        new BuildError(`${cmd} ${why}${masked ? `:\n${masked}` : ''}`, {
          logTail: masked,
          ...(opts.logFile ? { logFile: opts.logFile } : {}),
        }),
      );
    });
    function cleanup() {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      log?.end();
    }
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** True when `cmd` can be found on PATH. */
export async function commandExists(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${JSON.stringify(cmd)}`]);
    return true;
  } catch {
    return false;
  }
}
