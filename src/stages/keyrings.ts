/**
 * The keys of repos given by `keyring_url`: downloaded through the proxy before the rootfs digest is taken (the
 * key's bytes are part of what the bootstrap trusts, so a changed key rebuilds), checked as OpenPGP public keys
 * and against `keyring_fingerprint`, and kept in the cache as binary keyrings named by their digest.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Repo } from '../config/types.js';
import { downloadKey, KeyMismatch, readPublicKeys } from '../engine/keyring.js';
import { BuildError } from '../errors.js';
import { leasedName } from '../lease.js';

/** No repository key comes near this (a few KiB); anything larger is refused while it downloads. */
export const MAX_KEY_BYTES = 1024 * 1024;

/** A repo's downloaded key, ready for `signed-by`. */
export interface FetchedKeyring {
  /** Binary keyring in the cache. */
  path: string;
  /** sha256 of the keyring: goes into the rootfs digest. */
  sha256: string;
  /** Primary key fingerprints in it. */
  fingerprints: string[];
}

export interface KeyringInput {
  repos: readonly Repo[];
  proxy: string;
  noProxy: string;
  cacheDir: string;
  logFile: string;
  signal?: AbortSignal;
  onInfo?: (message: string) => void;
}

/** The URL as it may be shown: without user-info, query or fragment (either may carry a token). */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** What to do when a repo's key cannot be downloaded: where the repo is set, and the proxy settings. */
export function unreachableHint(repo: string): string {
  return (
    `if this machine reaches it only through a proxy, set PROXY (and NO_PROXY); otherwise point repo ${repo} ` +
    'at a mirror that serves it: its `source` and `keyring_url` (or `keyring_file`) in ' +
    'rootfs/multistrap-vars.yaml (`repos`, or the profile that adds it)'
  );
}

/**
 * Downloads and checks the key of every repo with `keyring_url`.
 * @returns the keyrings by repo name.
 * @throws BuildError naming the repo, its key URL (without credentials) and the cause: not reachable (with
 *   {@link unreachableHint}), too large, not an OpenPGP public key, or a fingerprint other than the pinned one
 *   (both fingerprints named).
 */
export async function fetchKeyrings(input: KeyringInput): Promise<Map<string, FetchedKeyring>> {
  const out = new Map<string, FetchedKeyring>();
  for (const repo of input.repos) {
    if (!repo.keyring_url) continue;
    const url = shownUrl(repo.keyring_url);
    const pin = repo.keyring_fingerprint;
    await appendFile(
      input.logFile,
      `# repo ${repo.name}: key from ${url}${pin ? ` (pinned ${pin})` : ''}\n`,
      {
        mode: 0o600,
      },
    );
    let data: Buffer;
    try {
      data = await downloadKey({
        url: repo.keyring_url,
        proxy: input.proxy,
        noProxy: input.noProxy,
        maxBytes: MAX_KEY_BYTES,
        ...(input.signal ? { signal: input.signal } : {}),
      });
    } catch (err) {
      const cause = (err as Error).message;
      // Refusals of ours, not a reachability problem: no hint about proxies and mirrors.
      const refused = /larger than/.test(cause)
        ? ''
        : /Protocol "[^"]*" not supported/.test(cause)
          ? ' (only http and https URLs are followed, also in redirects)'
          : `; ${unreachableHint(repo.name)}`;
      throw new BuildError(`repo ${repo.name}: cannot download its key from ${url}: ${cause}${refused}`);
    }
    let keys: Awaited<ReturnType<typeof readPublicKeys>>;
    try {
      keys = await readPublicKeys(data, pin, input.signal);
    } catch (err) {
      throw new BuildError(
        err instanceof KeyMismatch
          ? `repo ${repo.name}: the key from ${url} has primary fingerprint ${err.found.join(', ')}, but keyring_fingerprint is ${err.wanted}`
          : `repo ${repo.name}: the key from ${url} is refused: ${(err as Error).message}`,
      );
    }
    const sha256 = createHash('sha256').update(keys.keyring).digest('hex');
    const path = await store(input.cacheDir, sha256, keys.keyring);
    const fingerprints = pin ? [pin] : keys.primaries;
    out.set(repo.name, { path, sha256, fingerprints });
    input.onInfo?.(`repo ${repo.name}: key ${fingerprints.join(', ')} from ${url}`);
  }
  return out;
}

/** Writes the keyring to `<cacheDir>/keyrings/<sha256>.gpg` (temp file, then rename). */
async function store(cacheDir: string, sha256: string, keyring: Buffer): Promise<string> {
  const dir = join(cacheDir, 'keyrings');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${sha256}.gpg`);
  const tmp = join(dir, leasedName(`.${sha256}.gpg.`, '.tmp'));
  try {
    await writeFile(tmp, keyring, { mode: 0o644, flag: 'wx' });
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}
