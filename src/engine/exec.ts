/**
 * Running external programs: the one place (with the Docker client) where the project spawns processes.
 * Every run can be aborted, has an optional time limit, and keeps the tail of its output for error messages.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, fchmodSync, openSync, type WriteStream } from 'node:fs';
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
  /**
   * Called with each chunk of output as it arrives, NOT masked: for matching a prompt that ends without a
   * newline (the boot test's `login:`). Never print or store it; use `onLine` for that.
   */
  onOutput?: (chunk: string) => void;
  /**
   * Called with each line of output (stdout and stderr, newline included) once it is complete, with secrets
   * masked: safe to show as progress or keep for error messages. A line over 64 KiB comes in pieces.
   */
  onLine?: (line: string) => void;
  /**
   * Strings to mask in logs, `onOutput` lines and error messages (passwords, credentials, private keys; from
   * `secretStrings` of the config). URL user-info is masked in any case. Output is masked line by line, so a
   * secret split across two reads of the pipe is still found; a multi-line secret is masked by its lines.
   */
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

/** A line longer than this is masked and passed on without waiting for its end. */
const MAX_LINE = 64 * 1024;
/** `scheme://user:pass@` in any output, whether or not the secret was handed in. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"<>]+@/gi;

/** `text` with every string of `secrets` (longest first) and every URL's user-info replaced by `***`. */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length))
    if (s.length > 0) out = out.split(s).join('***');
  return out.replace(URL_USERINFO, '$1***@');
}

/**
 * Output of one stream cut into lines and masked: a chunk boundary can fall inside a secret, a line boundary
 * (for a one-line secret) cannot. `push` returns the complete lines so far, `flush` the rest at the end.
 */
export class LineMasker {
  private partial = '';
  constructor(private readonly secrets: readonly string[]) {}

  push(chunk: string): string {
    const text = this.partial + chunk;
    const end = text.lastIndexOf('\n');
    if (end < 0 && text.length <= MAX_LINE) {
      this.partial = text;
      return '';
    }
    const cut = end < 0 ? text.length : end + 1;
    this.partial = text.slice(cut);
    return maskSecrets(text.slice(0, cut), this.secrets);
  }

  flush(): string {
    const rest = this.partial;
    this.partial = '';
    return rest ? maskSecrets(rest, this.secrets) : '';
  }
}

/**
 * Opens `file` for appending, owner-only: logs hold command lines and tool output of a build. An existing log
 * with a wider mode is narrowed.
 */
function openLog(file: string): WriteStream {
  const fd = openSync(file, 'a', 0o600);
  fchmodSync(fd, 0o600);
  return createWriteStream(file, { fd, flags: 'a' });
}

/** SIGTERM to the child (or its whole process group), SIGKILL 5 s later. */
function stopChild(child: ChildProcess, group: boolean): void {
  const signalChild = (sig: NodeJS.Signals) => {
    if (group && child.pid !== undefined) {
      try {
        process.kill(-child.pid, sig);
        return;
      } catch {
        // the group is gone already
      }
    }
    child.kill(sig);
  };
  signalChild('SIGTERM');
  setTimeout(() => signalChild('SIGKILL'), 5000).unref();
}

/** Every line of `text` prefixed with the time it was logged, so a log reads as a timeline. */
function stampLines(text: string, now = new Date().toISOString()): string {
  return text.replace(/^(?=.)/gm, `${now} `);
}

/**
 * Runs `cmd args…` and resolves with its output. The log gets the command line, every line of output and the
 * exit status with the run's duration, each line with a timestamp.
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
    const log: WriteStream | undefined = opts.logFile ? openLog(opts.logFile) : undefined;
    const started = Date.now();
    log?.write(stampLines(`$ ${maskSecrets([cmd, ...args].join(' '), secrets)}\n`));
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
    const maskers = { out: new LineMasker(secrets), err: new LineMasker(secrets) };
    // Only masked text reaches the log, the tail (error messages) and onOutput.
    const emitMasked = (masked: string) => {
      if (!masked) return;
      tail = (tail + masked).slice(-TAIL_BYTES);
      log?.write(stampLines(masked));
      if (opts.onLine) for (const line of masked.split(/(?<=\n)/)) opts.onLine(line);
    };
    const onChunk = (s: string, isOut: boolean) => {
      if (isOut && captureStdout) stdout += s;
      if (!isOut) stderr += s;
      opts.onOutput?.(s);
      emitMasked((isOut ? maskers.out : maskers.err).push(s));
    };
    // Decoded by the stream, so a character split across two reads stays whole.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => onChunk(s, true));
    child.stderr.on('data', (s: string) => onChunk(s, false));
    const kill = (why: string) => {
      killedFor = why;
      stopChild(child, opts.processGroup === true);
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
      emitMasked(maskers.out.flush());
      emitMasked(maskers.err.flush());
      const c = code ?? -1;
      const ran = `(ran ${((Date.now() - started) / 1000).toFixed(1)} s)`;
      log?.write(stampLines(`# ${cmd}: ${killedFor ?? (sig ? `killed by ${sig}` : `exit ${c}`)} ${ran}\n`));
      cleanup();
      if (!killedFor && okCodes.includes(c)) {
        resolve({ code: c, stdout, stderr });
        return;
      }
      const why = killedFor ?? (sig ? `killed by ${sig}` : `exited with code ${c}`);
      const masked = tail.trim();
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
    child.stdin.end(opts.input);
  });
}
