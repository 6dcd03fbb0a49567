/**
 * rootfs stage: the configured repos and packages bootstrapped by mmdebstrap into a tar file in the cache
 * (never unpacked on the host), with unapproved packages pinned out, the NIC naming policy, and only the
 * repos marked `register_repo_with_rootfs` left in the root's apt sources. Mirror credentials reach apt
 * through an auth.conf.d file that exists only during the bootstrap; no source line carries them.
 */
import {
  appendFile,
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { aptAuthEntry, splitMirrorCredentials } from '../config/mirror.js';
import { secretStrings } from '../config/redact.js';
import type { MultistrapVars, Repo } from '../config/types.js';
import {
  type MmdebstrapMode,
  type MmdebstrapSource,
  type MmdebstrapUpload,
  mmdebstrap,
  pickMmdebstrapMode,
  sourceLine,
} from '../engine/mmdebstrap.js';
import { BuildError } from '../errors.js';
import { leasedName, leaseTag } from '../lease.js';
import { ETC_HOSTNAME, ETC_HOSTS } from './etc-files.js';
import type { FetchedKeyring } from './keyrings.js';

export interface RootfsInput {
  multistrap: MultistrapVars;
  /** For keyring files given relative to the manifests folder. */
  manifestsDir: string | null;
  proxy: string;
  noProxy: string;
  cacheDir: string;
  digest: string;
  logFile: string;
  signal?: AbortSignal;
  /** Lines of mmdebstrap's output, secrets masked. */
  onOutput?: (line: string) => void;
  /** Tells how mmdebstrap isolates maintainer scripts, and why (one line). */
  onInfo?: (message: string) => void;
  /** Keyrings of the repos with `keyring_url`, by repo name ({@link fetchKeyrings}). */
  keyrings?: ReadonlyMap<string, FetchedKeyring>;
  /** Overrides the probe (tests). */
  mode?: MmdebstrapMode;
  /** Runs mmdebstrap; the engine's by default (unit tests pass a fake to see what would be written). */
  bootstrap?: typeof mmdebstrap;
}

/** Where the bootstrap's mirror credentials live inside the root, removed before the tar is written. */
export const BOOTSTRAP_AUTH_FILE = '/etc/apt/auth.conf.d/90-airship-bootstrap.conf';

/**
 * Kernel hooks held back while packages install. kdump-tools' builds a `MODULES=dep` initramfs, which must find
 * the root device and cannot in the bootstrap's chroot (the kernel package then fails to configure); osconfig
 * makes the crash initramfs instead (playbooks/roles/osconfig, "Make the crash kernel's initramfs").
 * initramfs-tools' builds the initramfs as soon as the kernel is configured, and its trigger, fired by packages
 * configured after it that add hooks or modules (udev, live-boot, kdump-tools, …), builds it again: the same file
 * twice, about 85 s each here. It is built once instead, after every package is in (`MAKE_INITRAMFS`: `-c -k
 * all` is what the hook would have run, for each installed kernel).
 */
const DEFERRED_KERNEL_HOOKS = [
  '/etc/kernel/postinst.d/kdump-tools',
  '/etc/kernel/postinst.d/initramfs-tools',
];
const MAKE_INITRAMFS =
  'if command -v update-initramfs >/dev/null 2>&1 && command -v linux-version >/dev/null 2>&1; then update-initramfs -c -k all; fi';

/**
 * What goes into the rootfs digest: everything that changes the tar's content, downloaded keys by their
 * digest (a key changed at its URL rebuilds).
 */
export function rootfsDigestInput(
  m: MultistrapVars,
  keyrings?: ReadonlyMap<string, FetchedKeyring>,
): Record<string, unknown> {
  const keys = Object.fromEntries([...(keyrings ?? [])].map(([name, k]) => [name, k.sha256]));
  return {
    // 2: SSH host keys no longer in the tar; 3: kdump's kernel hook deferred to the machine.
    v: 3,
    arch: m.rootfs_arch,
    repos: m.repos,
    unapproved: m.unapproved_packages,
    nic: [m.systemd_nic_names_policy, m.systemd_nic_alternative_names_policy],
    // Only when there are some: the digest of a build without downloaded keys stays what it was.
    ...(Object.keys(keys).length > 0 ? { keys } : {}),
  };
}

/**
 * A repo's entry in the image's apt sources: its `deb` line and, unless `omitdebsrc`, the matching `deb-src`
 * line, as the original's multistrap wrote them (the bootstrap itself fetches no sources).
 */
export function registeredSource(name: string, src: MmdebstrapSource, omitdebsrc: boolean): string {
  const deb = sourceLine(src);
  return `# ${name}\n${deb}\n${omitdebsrc ? '' : `${deb.replace(/^deb /, 'deb-src ')}\n`}`;
}

/** apt preferences that keep these packages out, also from later upgrades and as dependencies. */
export function unapprovedPreferences(pkgs: readonly string[]): string {
  return pkgs
    .map((p) => `# not approved for this image\nPackage: ${p}\nPin: release *\nPin-Priority: -1\n`)
    .join('\n');
}

export function nicLinkFile(names: string, alternatives: string): string {
  return [
    '# Interface naming policy of the image (systemd_nic_names_policy)',
    '[Match]',
    'OriginalName=*',
    '',
    '[Link]',
    `NamePolicy=${names}`,
    `AlternativeNamesPolicy=${alternatives}`,
    'MACAddressPolicy=persistent',
    '',
  ].join('\n');
}

function keyringPath(repo: Repo, manifestsDir: string | null): string | undefined {
  if (!repo.keyring_file) return undefined;
  if (isAbsolute(repo.keyring_file)) return repo.keyring_file;
  return resolve(manifestsDir ?? process.cwd(), repo.keyring_file);
}

/**
 * The repos' sources without credentials, and the auth.conf entries that carry them.
 * @throws BuildError naming the repo whose credentials apt cannot take.
 */
export function mirrorAuth(repos: readonly Repo[]): { uris: string[]; auth: string } {
  const uris: string[] = [];
  const entries = new Set<string>();
  for (const repo of repos) {
    const { url, login, password } = splitMirrorCredentials(repo.source);
    uris.push(url);
    if (login === undefined) continue;
    try {
      entries.add(aptAuthEntry(url, login, password ?? ''));
    } catch (err) {
      throw new BuildError(`repo ${repo.name}: ${(err as Error).message}`);
    }
  }
  return { uris, auth: [...entries].join('') };
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** A copy of a keyring in `dir` (made world-readable with its folder) that apt's _apt user can read. */
async function aptReadable(key: string, dir: string, name: string): Promise<string> {
  await chmod(dir, 0o755);
  const copy = join(dir, `${name}${extname(key) === '.asc' ? '.asc' : '.gpg'}`);
  await copyFile(key, copy);
  await chmod(copy, 0o644);
  return copy;
}

/** The lines of the apt error output (`E: …`) — the cause worth showing. */
export function aptCause(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^E: /.test(l) || /^(W: )?Failed to fetch/.test(l) || /^W: GPG error/.test(l));
  const unique = [...new Set(lines)];
  // mmdebstrap repeats apt's error inside a long "setup failed" line; apt's own lines say it best.
  const specific = unique.filter((l) => !/^E: (setup failed|mmdebstrap failed)/.test(l));
  return (specific.length > 0 ? specific : unique).slice(0, 6).join('\n');
}

/**
 * apt names a failing repository by its URL; the user knows it by its name. Prefixes the cause with the names
 * of the repos whose URL it mentions.
 */
export function namingRepos(cause: string, repos: readonly Repo[], uris: readonly string[]): string {
  const named = repos.filter((r, i) => {
    const uri = (uris[i] ?? r.source).replace(/\/+$/, '');
    return uri.length > 0 && cause.includes(uri);
  });
  if (named.length === 0) return cause;
  const list = named.map((r) => `repo ${r.name}${r.keyring_url ? ' (key from keyring_url)' : ''}`);
  return `${list.join(', ')}: ${cause}`;
}

function looksTransient(output: string): boolean {
  return /Failed to fetch|Could not connect|Temporary failure|Connection (refused|timed out)|Unable to connect|Hash Sum mismatch/i.test(
    output,
  );
}

type Put = (
  name: string,
  content: string,
  path: string,
  when: 'setup' | 'customize',
  mode?: string,
) => Promise<void>;

/** Writes a file into `scratch` and lists it for mmdebstrap to copy into the root at `path`. */
function uploader(scratch: string, uploads: MmdebstrapUpload[]): Put {
  return async (name, content, path, when, mode) => {
    const hostPath = join(scratch, name);
    await writeFile(hostPath, content, { mode: mode ? Number.parseInt(mode, 8) : 0o644 });
    uploads.push({ hostPath, path, when, ...(mode ? { mode } : {}) });
  };
}

/** The files every root gets: mirror credentials (setup only), unapproved pins, NIC policy, hostname, hosts. */
async function putFixedFiles(m: MultistrapVars, auth: string | undefined, put: Put): Promise<void> {
  if (auth) await put('auth.conf', auth, BOOTSTRAP_AUTH_FILE, 'setup', '600');
  if (m.unapproved_packages.length > 0)
    await put(
      'unapproved',
      unapprovedPreferences(m.unapproved_packages),
      '/etc/apt/preferences.d/airship-unapproved',
      'setup',
    );
  await put(
    'nic.link',
    nicLinkFile(m.systemd_nic_names_policy, m.systemd_nic_alternative_names_policy),
    '/etc/systemd/network/99-default.link',
    'customize',
  );
  await put('hostname', ETC_HOSTNAME, '/etc/hostname', 'customize');
  await put('hosts', ETC_HOSTS, '/etc/hosts', 'customize');
}

/** The bootstrap's apt sources, the source lines left in the root, and every package to install. */
async function repoSources(
  input: RootfsInput,
  uris: readonly string[],
  readable: string,
  uploads: MmdebstrapUpload[],
): Promise<{ sources: MmdebstrapSource[]; registered: string[]; packages: Set<string> }> {
  const m = input.multistrap;
  const sources: MmdebstrapSource[] = [];
  const registered: string[] = [];
  const packages = new Set<string>();
  for (const [i, repo] of m.repos.entries()) {
    const fetched = input.keyrings?.get(repo.name);
    if (repo.keyring_url && !fetched)
      throw new BuildError(`repo ${repo.name}: its key from keyring_url was not downloaded`);
    const key = fetched?.path ?? keyringPath(repo, input.manifestsDir);
    const src: MmdebstrapSource = {
      uri: uris[i] ?? repo.source,
      suite: repo.suite,
      components: repo.components,
      ...(key ? { signedBy: await aptReadable(key, readable, `${i}-${safeName(repo.name)}`) } : {}),
    };
    sources.push(src);
    for (const p of repo.packages) packages.add(p);
    if (repo.keyring_pkg) packages.add(repo.keyring_pkg);
    if (repo.register_repo_with_rootfs) {
      let inside: string | undefined;
      if (key) {
        inside = `/etc/apt/keyrings/${safeName(repo.name)}.gpg`;
        uploads.push({ hostPath: key, path: inside, when: 'customize' });
      }
      registered.push(
        registeredSource(repo.name, { ...src, ...(inside ? { signedBy: inside } : {}) }, repo.omitdebsrc),
      );
    }
  }
  return { sources, registered, packages };
}

/**
 * Runs `attempt` until it succeeds, retrying mirror failures; `output` collects what it printed.
 * @throws BuildError with the apt error lines (naming the repos) when an attempt fails for good.
 */
async function bootstrapWithRetries(
  input: RootfsInput,
  at: { uris: readonly string[]; tmp: string },
  attempt: (output: { text: string }) => Promise<void>,
): Promise<void> {
  const m = input.multistrap;
  const attempts = Math.max(1, m.multistrap_retries);
  for (let n = 1; ; n++) {
    const output = { text: '' };
    try {
      // A fresh name made here with O_EXCL: mmdebstrap then writes into a file this run owns.
      await (await open(at.tmp, 'wx', 0o644)).close();
      await attempt(output);
      return;
    } catch (err) {
      await rm(at.tmp, { force: true });
      if (n >= attempts || !looksTransient(output.text) || input.signal?.aborted) {
        const cause = namingRepos(
          aptCause(output.text) || (err instanceof Error ? err.message : String(err)),
          m.repos,
          at.uris,
        );
        throw new BuildError(`mmdebstrap failed${n > 1 ? ` after ${n} attempts` : ''}: ${cause}`, {
          logFile: input.logFile,
          ...(err instanceof BuildError && err.details.logTail ? { logTail: err.details.logTail } : {}),
        });
      }
      input.onOutput?.(`mirror failure; retrying in ${m.multistrap_retries_delay} s\n`);
      await sleep(m.multistrap_retries_delay * 1000, undefined, input.signal ? { signal: input.signal } : {});
    }
  }
}

/**
 * Bootstraps the root file system into `<cacheDir>/rootfs/<digest>.tar`, retrying mirror failures.
 * @returns the tar's path.
 * @throws BuildError with the apt error lines as the message and the log file in its details.
 */
export async function rootfsStage(input: RootfsInput): Promise<{ tar: string }> {
  const m = input.multistrap;
  if (m.repos.length === 0) throw new BuildError('no repos configured (multistrap-vars.yaml repos)');
  const dir = join(input.cacheDir, 'rootfs');
  await mkdir(dir, { recursive: true });
  const scratch = await mkdtemp(join(dir, `.scratch-${leaseTag()}-`));
  // apt verifies signatures as the _apt user: the keyrings it is given must be readable by it, wherever the
  // cache or the manifests folder is (a home folder is often 0700). Public keys only.
  const readable = await mkdtemp(join(tmpdir(), `aib-keyrings-${leaseTag()}-`));
  const out = join(dir, `${input.digest}.tar`);
  const tmp = join(dir, leasedName(`.${input.digest}.tar.`, '.tmp'));
  try {
    const uploads: MmdebstrapUpload[] = [];
    const put = uploader(scratch, uploads);
    const { uris, auth } = mirrorAuth(m.repos);
    await putFixedFiles(m, auth, put);
    const { sources, registered, packages } = await repoSources(input, uris, readable, uploads);
    await put('sources', registered.join(''), '/etc/apt/sources.list.d/airship.list', 'customize');

    const secrets = secretStrings({ repos: m.repos, proxy: input.proxy });
    const picked = input.mode
      ? { mode: input.mode, why: `${input.mode} mode (chosen by the caller)` }
      : await pickMmdebstrapMode();
    input.onInfo?.(`mmdebstrap ${picked.why}`);
    // In the log too, above the command line it explains.
    await appendFile(input.logFile, `${new Date().toISOString()} # mmdebstrap ${picked.why}\n`, {
      mode: 0o600,
    });
    await bootstrapWithRetries(input, { uris, tmp }, (output) =>
      (input.bootstrap ?? mmdebstrap)({
        mode: picked.mode,
        suite: m.repos[0]?.suite ?? 'stable',
        arch: m.rootfs_arch,
        sources,
        packages: [...packages],
        output: tmp,
        archivesDir: join(input.cacheDir, 'apt-archives'),
        uploads,
        deferredFiles: DEFERRED_KERNEL_HOOKS,
        afterInstall: [MAKE_INITRAMFS],
        // Host keys made by openssh-server's postinst would stay in the image's first layer: every machine
        // makes its own at first boot (osconfig installs the unit).
        removeAfter: ['/etc/apt/sources.list', '/etc/ssh/ssh_host_*', ...(auth ? [BOOTSTRAP_AUTH_FILE] : [])],
        proxy: input.proxy,
        noProxy: input.noProxy,
        logFile: input.logFile,
        secrets,
        onLine: (line) => {
          output.text = (output.text + line).slice(-200_000);
          input.onOutput?.(line);
        },
        ...(input.signal ? { signal: input.signal } : {}),
      }),
    );
    await rename(tmp, out);
    await pruneTars(dir, KEEP_TARS);
    return { tar: out };
  } finally {
    await rm(tmp, { force: true });
    await rm(scratch, { recursive: true, force: true });
    await rm(readable, { recursive: true, force: true });
  }
}

/** Root file systems kept in the cache (each is the size of the installed system). */
const KEEP_TARS = 3;

async function pruneTars(dir: string, keep: number): Promise<void> {
  const tars = await Promise.all(
    (await readdir(dir))
      .filter((n) => n.endsWith('.tar'))
      .map(async (n) => ({ path: join(dir, n), mtime: (await stat(join(dir, n))).mtimeMs })),
  );
  tars.sort((a, b) => b.mtime - a.mtime);
  for (const t of tars.slice(keep)) await rm(t.path, { force: true });
}
