/**
 * Repository keys from the network. curl downloads (http and https only, redirects included, through the
 * proxy, the body capped while it arrives); gpg reads the bytes in a throw-away home and writes the public keys
 * as the binary keyring apt's `signed-by` takes. The URL and proxy reach curl on stdin, never on its command
 * line, so their credentials are not visible in the process list.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { leaseTag } from '../lease.js';
import { maskSecrets, run } from './exec.js';

export interface KeyDownload {
  /** http(s) URL; user-info in it is sent as basic authentication and never shown. */
  url: string;
  proxy?: string;
  noProxy?: string;
  /** The body is refused (and curl stopped) once it grows past this. */
  maxBytes: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A value of curl's config syntax: double-quoted, with its escapes. */
function curlQuoted(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/** The curl config (read from stdin) for one download. Exported for unit tests. */
export function curlConfig(o: KeyDownload): string {
  const lines = [
    `url = ${curlQuoted(o.url)}`,
    'silent',
    'show-error',
    'fail',
    'location',
    'max-redirs = 5',
    // A redirect to file://, ftp://, … would read or reach what the URL did not name.
    'proto = "=http,https"',
    'proto-redir = "=http,https"',
    `max-filesize = ${o.maxBytes}`,
    'connect-timeout = 20',
    `max-time = ${Math.ceil((o.timeoutMs ?? 120_000) / 1000)}`,
  ];
  if (o.proxy) lines.push(`proxy = ${curlQuoted(o.proxy)}`);
  if (o.noProxy) lines.push(`noproxy = ${curlQuoted(o.noProxy)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Downloads a key file.
 * @throws BuildError with curl's error (URL credentials masked) when the download fails, or when the body is
 *   larger than `maxBytes` (whatever the server announced).
 */
export function downloadKey(o: KeyDownload): Promise<Buffer> {
  const secrets = [o.url, o.proxy ?? ''].flatMap((u) => userInfo(u));
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new BuildError('key download aborted'));
      return;
    }
    const child = spawn('curl', ['--disable', '--config', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let why: string | undefined;
    const stop = (reason: string) => {
      why ??= reason;
      child.kill('SIGKILL');
    };
    const onAbort = () => stop('aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > o.maxBytes) stop(`the body is larger than ${o.maxBytes} bytes`);
      else chunks.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-4000);
    });
    child.on('error', (err) => {
      o.signal?.removeEventListener('abort', onAbort);
      reject(new BuildError(`curl: cannot start (${err.message}); is it installed?`));
    });
    child.on('close', (code) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (!why && code === 0) {
        resolve(Buffer.concat(chunks));
        return;
      }
      // 63: curl's own max-filesize check (announced length).
      const cause =
        why ??
        (code === 63
          ? `the body is larger than ${o.maxBytes} bytes`
          : maskSecrets(stderr.trim().replace(/^curl: /gm, ''), secrets) || `curl exited with code ${code}`);
      reject(new BuildError(cause));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(curlConfig(o));
  });
}

/** The password of a URL's user-info (raw and decoded), for masking; the user-info as a whole is masked anyway. */
function userInfo(url: string): string[] {
  try {
    const { password } = new URL(url);
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

/** The key file's primary keys do not include the one asked for. */
export class KeyMismatch extends BuildError {
  constructor(
    readonly found: readonly string[],
    readonly wanted: string,
  ) {
    super(`its primary key fingerprint is ${found.join(', ')}, not ${wanted}`);
  }
}

/** What gpg found in a key file. */
export interface PublicKeys {
  /** Fingerprints of the primary keys (upper-case hex), in file order. */
  primaries: string[];
  /** The binary keyring of those keys (all, or the one asked for), public parts only. */
  keyring: Buffer;
}

/**
 * The primary fingerprints of the key records (`pub`/`sec`) in gpg's `--with-colons` listing.
 * @returns the fingerprints and whether any record is a secret key.
 */
export function primaryFingerprints(colons: string): { primaries: string[]; secret: boolean } {
  const primaries: string[] = [];
  let secret = false;
  let afterPrimary = false;
  for (const line of colons.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub' || f[0] === 'sec') {
      if (f[0] === 'sec') secret = true;
      afterPrimary = true;
    } else if (f[0] === 'fpr' && afterPrimary) {
      if (f[9]) primaries.push(f[9].toUpperCase());
      afterPrimary = false;
    } else if (f[0] !== 'fpr' && f[0] !== 'grp') {
      afterPrimary = false;
    }
  }
  return { primaries, secret };
}

/**
 * Reads `data` (armored or binary) as OpenPGP public keys in a throw-away GnuPG home and exports them as a
 * binary keyring; with `only`, exports that primary key alone.
 * @throws BuildError when gpg finds no public key, finds a secret key, or `only` is not among the primaries
 *   ({@link KeyMismatch}, naming the fingerprints found).
 */
export async function readPublicKeys(data: Buffer, only?: string, signal?: AbortSignal): Promise<PublicKeys> {
  // Leased like every scratch folder: a killed run's home is swept by the next run.
  const home = await mkdtemp(join(tmpdir(), `aib-gnupg-${leaseTag()}-`));
  const gpg = (args: string[]) =>
    run(
      'gpg',
      ['--homedir', home, '--batch', '--no-tty', '--no-options', '--no-auto-check-trustdb', ...args],
      {
        timeoutMs: 60_000,
        env: { ...process.env, GNUPGHOME: home, LC_ALL: 'C' },
        ...(signal ? { signal } : {}),
      },
    );
  try {
    const file = join(home, 'key');
    await writeFile(file, data, { mode: 0o600 });
    let listing: string;
    try {
      listing = (await gpg(['--with-colons', '--show-keys', file])).stdout;
    } catch (err) {
      throw new BuildError(`gpg finds no OpenPGP key in it (${gpgCause(err)})`);
    }
    const { primaries, secret } = primaryFingerprints(listing);
    // Refused before anything is imported: a secret key would start gpg-agent and has no place in apt.
    if (secret) throw new BuildError('it holds a secret key, not only public keys');
    if (primaries.length === 0) throw new BuildError('gpg finds no OpenPGP public key in it');
    if (only && !primaries.includes(only)) throw new KeyMismatch(primaries, only);
    await gpg(['--quiet', '--import', file]);
    const out = join(home, 'keyring.gpg');
    await gpg(['--export', '--output', out, ...(only ? [only] : primaries)]);
    const keyring = await readFile(out);
    if (keyring.length === 0) throw new BuildError('gpg exports no usable public key from it');
    return { primaries, keyring };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** gpg's own complaint, one line (its last, not the notes on the keybox it made). */
function gpgCause(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('gpg: ') && !/WARNING|created$|exited with code/.test(l));
  return (lines.at(-1) ?? text.split('\n')[0] ?? '')
    .replace(/^gpg: /, '')
    .replace(/'[^']*aib-gnupg-[^']*'/g, 'the key file')
    .slice(0, 200);
}
