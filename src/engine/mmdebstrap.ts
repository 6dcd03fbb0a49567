/**
 * mmdebstrap: bootstraps a Debian-family root file system straight into a tar file (never unpacked on the host).
 * Downloaded packages are synchronised with a persistent archives folder so a rebuild fetches only what is new.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { run } from './exec.js';

/**
 * How mmdebstrap isolates the maintainer scripts. `unshare`: its own mount, pid, ipc and uts namespaces (and,
 * when not run as root, a user namespace, so the scripts are not host root); `root`: chroot only;
 * `fakechroot`: no privilege at all (fakeroot fakes ownership, fakechroot fakes the chroot through
 * LD_PRELOAD), for a user who may not create a user namespace, e.g. inside a container.
 */
export type MmdebstrapMode = 'unshare' | 'root' | 'fakechroot';

/** One `deb` source as mmdebstrap takes it on its command line. */
export interface MmdebstrapSource {
  uri: string;
  suite: string;
  components: readonly string[];
  /** Keyring on the build host for this source (`[signed-by=…]`); host defaults when absent. */
  signedBy?: string;
}

/** A host file put into the root file system (e.g. apt preferences, a .link file). */
export interface MmdebstrapUpload {
  hostPath: string;
  path: string;
  /** `setup` files exist before packages are installed (apt preferences); `customize` files after. */
  when: 'setup' | 'customize';
  /** File mode inside the root, octal (`600` for apt credentials); the upload's default otherwise. */
  mode?: string;
}

export interface MmdebstrapOptions {
  mode: MmdebstrapMode;
  suite: string;
  arch: string;
  sources: readonly MmdebstrapSource[];
  packages: readonly string[];
  /** Tar file to write. */
  output: string;
  /** Persistent /var/cache/apt/archives of previous runs. */
  archivesDir: string;
  uploads: readonly MmdebstrapUpload[];
  /**
   * Paths removed from the root after packages are installed (e.g. the bootstrap sources.list); a trailing `*`
   * is a glob (`/etc/ssh/ssh_host_*`).
   */
  removeAfter: readonly string[];
  /**
   * Files that packages install but that must not run during the bootstrap (kernel hooks that need the booted
   * machine): diverted away with dpkg-divert once the essential set is in, put back after every package is.
   */
  deferredFiles?: readonly string[];
  /**
   * Shell commands run in the root once every package is in and before the deferred files come back (e.g. the
   * one initramfs build a deferred kernel hook would have made early and a trigger again later).
   */
  afterInstall?: readonly string[];
  proxy?: string;
  noProxy?: string;
  logFile: string;
  signal?: AbortSignal;
  secrets?: readonly string[];
  /** Each line of output, secrets masked. */
  onLine?: (line: string) => void;
}

/**
 * Under fakechroot the host's loader runs the root's programs and resolves a RUNPATH on the host: systemd's
 * programs (RUNPATH /usr/lib/<triplet>/systemd) then miss libsystemd-shared in a container without systemd,
 * and systemd's postinst fails. mmdebstrap 1.3 puts only `<root>/lib/systemd` (the pre-bookworm place) on
 * LD_LIBRARY_PATH, so a link there, to the library's place in the root, is made once the essential set is in
 * (its name carries systemd's major version, read from the apt lists) and removed after every package is.
 */
const FAKECHROOT_SYSTEMD_HOOKS: readonly string[] = [
  `--essential-hook=v=$(cat "$1"/var/lib/apt/lists/*_Packages 2>/dev/null | sed -n '/^Package: systemd$/,/^$/s/^Version: \\([0-9][0-9]*\\).*/\\1/p' | head -n1); for d in "$1"/usr/lib/*-linux-gnu; do [ -n "$v" ] && [ -d "$d" ] && mkdir -p "$1/usr/lib/systemd" && ln -sfn "../\${d##*/}/systemd/libsystemd-shared-$v.so" "$1/usr/lib/systemd/libsystemd-shared-$v.so"; done; true`,
  `--customize-hook=find "$1/usr/lib/systemd" -maxdepth 1 -type l -name 'libsystemd-shared-*.so' -delete 2>/dev/null; true`,
];

/**
 * dpkg syncs every file it unpacks; a bootstrap's root is thrown away whole when the run fails, so the syncs buy
 * nothing (about 40 s of a 5-minute bootstrap here). The option lives in its own file, removed before the tar
 * is written, so the machine's dpkg keeps its default.
 */
const BOOTSTRAP_DPKG_CFG = '/etc/dpkg/dpkg.cfg.d/zz-airship-bootstrap';

/** Single-quotes a string for the shell hooks mmdebstrap runs. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function sourceLine(s: MmdebstrapSource): string {
  const opts = s.signedBy ? `[signed-by=${s.signedBy}] ` : '';
  return `deb ${opts}${s.uri} ${s.suite} ${s.components.join(' ')}`;
}

/** The mmdebstrap argument list (exported for unit tests). */
export function mmdebstrapArgs(o: MmdebstrapOptions): string[] {
  const args = [
    `--mode=${o.mode}`,
    '--variant=minbase',
    `--architectures=${o.arch}`,
    '--format=tar',
    '--skip=essential/unlink',
    `--setup-hook=mkdir -p "$1/var/cache/apt/archives/"`,
    `--setup-hook=sync-in ${sq(o.archivesDir)} /var/cache/apt/archives/`,
    `--setup-hook=mkdir -p "$1/etc/dpkg/dpkg.cfg.d" && echo force-unsafe-io > "$1"${sq(BOOTSTRAP_DPKG_CFG)}`,
  ];
  if (o.packages.length > 0) args.push(`--include=${o.packages.join(',')}`);
  if (o.mode === 'fakechroot') args.push(...FAKECHROOT_SYSTEMD_HOOKS);
  // The diverted name has a dot, so run-parts (which runs the hooks) skips it.
  const divert = (f: string, how: '--add' | '--remove') =>
    `chroot "$1" dpkg-divert --quiet --local --rename --divert ${sq(`${f}.bootstrap-deferred`)} ${how} ${sq(f)}`;
  const deferred = o.deferredFiles ?? [];
  for (const f of deferred) args.push(`--essential-hook=${divert(f, '--add')}`);
  for (const c of o.afterInstall ?? []) args.push(`--customize-hook=chroot "$1" sh -ec ${sq(c)}`);
  for (const f of deferred) args.push(`--customize-hook=${divert(f, '--remove')}`);
  args.push(`--customize-hook=rm -f "$1"${sq(BOOTSTRAP_DPKG_CFG)}`);
  const upload = (u: MmdebstrapUpload) => {
    const hook = `--${u.when}-hook`;
    args.push(`${hook}=mkdir -p "$1"${sq(dirOf(u.path))}`);
    args.push(`${hook}=upload ${sq(u.hostPath)} ${sq(u.path)}`);
    if (u.mode) args.push(`${hook}=chmod ${u.mode} "$1"${sq(u.path)}`);
  };
  for (const u of o.uploads.filter((x) => x.when === 'setup')) upload(u);
  args.push(`--customize-hook=sync-out /var/cache/apt/archives ${sq(o.archivesDir)}`);
  for (const p of o.removeAfter)
    args.push(
      p.endsWith('*')
        ? `--customize-hook=rm -f "$1"${sq(p.slice(0, -1))}*`
        : `--customize-hook=rm -f "$1"${sq(p)}`,
    );
  for (const u of o.uploads.filter((x) => x.when === 'customize')) upload(u);
  args.push(o.suite, o.output, ...o.sources.map(sourceLine));
  return args;
}

function dirOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

/**
 * Runs mmdebstrap once.
 * @throws BuildError when mmdebstrap fails (unknown package, unreachable mirror, …); the message ends with its
 *   output's tail and the full output is in `logFile`.
 */
export async function mmdebstrap(o: MmdebstrapOptions): Promise<void> {
  await mkdir(o.archivesDir, { recursive: true });
  // apt reads the proxy from the environment: nothing lands in the root's apt.conf.d or on the command line.
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.proxy) {
    env.http_proxy = o.proxy;
    env.https_proxy = o.proxy;
  }
  if (o.noProxy) env.no_proxy = o.noProxy;
  await run('mmdebstrap', mmdebstrapArgs(o), {
    env,
    logFile: o.logFile,
    captureStdout: false,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.secrets ? { secrets: o.secrets } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  });
}

/** What the mode probe asks of the machine; unit tests pass fakes. */
export interface ModeProbe {
  /** Why new user, mount and pid namespaces cannot be made, or null when they can. */
  namespacesRefused(asUser: boolean): Promise<string | null>;
  /** Whether /etc/subuid gives this user a range of subordinate uids (mmdebstrap maps the scripts to it). */
  hasSubuidRange(uid: number): Promise<boolean>;
}

async function namespacesRefused(asUser: boolean): Promise<string | null> {
  const userNs = asUser ? ['--user', '--map-root-user'] : [];
  try {
    await run(
      'unshare',
      [...userNs, '--mount', '--pid', '--fork', '--propagation', 'unchanged', '--', 'true'],
      {
        timeoutMs: 10_000,
      },
    );
    return null;
  } catch (err) {
    // The first line only says that it exited; unshare's own line says what the kernel refused.
    const lines = err instanceof Error ? err.message.split('\n') : [String(err)];
    return (lines.find((l) => /^unshare: /.test(l.trim())) ?? lines[0] ?? '').trim();
  }
}

async function hasSubuidRange(uid: number): Promise<boolean> {
  let names: string[] = [String(uid)];
  try {
    names = [String(uid), userInfo().username];
  } catch {
    // A uid without a passwd entry (`docker run --user 1234`) has no name to look up.
  }
  const text = await readFile('/etc/subuid', 'utf8').catch(() => '');
  return text.split('\n').some((l) => {
    const [who, , count] = l.split(':');
    return who !== undefined && names.includes(who) && Number(count) > 0;
  });
}

const MACHINE_PROBE: ModeProbe = { namespacesRefused, hasSubuidRange };

/**
 * The isolation this machine allows, and why, for the log. Not root: `unshare` (mmdebstrap maps the scripts'
 * root to a subordinate id from /etc/subuid) when the user has a range and may create a user namespace;
 * otherwise `fakechroot`, which needs no privilege (a plain `docker run` container refuses user namespaces).
 * Root: mmdebstrap does not create a user namespace then, but `unshare` mode still gives the scripts their own
 * mount and pid namespaces when the kernel lets us create them (a container without CAP_SYS_ADMIN does not);
 * otherwise `root` mode.
 */
export async function pickMmdebstrapMode(
  uid = process.getuid?.() ?? 0,
  probe: ModeProbe = MACHINE_PROBE,
): Promise<{ mode: MmdebstrapMode; why: string }> {
  if (uid !== 0) {
    if (!(await probe.hasSubuidRange(uid)))
      return {
        mode: 'fakechroot',
        why: `fakechroot mode: uid ${uid} has no subordinate uid range in /etc/subuid, so unshare mode cannot map the maintainer scripts; they run under fakeroot and fakechroot, without privileges`,
      };
    const refused = await probe.namespacesRefused(true);
    if (refused !== null)
      return {
        mode: 'fakechroot',
        why: `fakechroot mode: this kernel or container does not let uid ${uid} create a user namespace (${refused}); maintainer scripts run under fakeroot and fakechroot, without privileges`,
      };
    return { mode: 'unshare', why: `unshare mode: maintainer scripts run in a user namespace (uid ${uid})` };
  }
  const cause = await probe.namespacesRefused(false);
  if (cause !== null)
    return {
      mode: 'root',
      why: `root mode: this kernel or container does not allow new mount/pid namespaces (${cause}); maintainer scripts run chrooted as host root`,
    };
  return {
    mode: 'unshare',
    why: 'unshare mode: running as root, so maintainer scripts keep uid 0 but run in their own mount, pid, ipc and uts namespaces; run as a user with an /etc/subuid range to map them to an unprivileged uid',
  };
}
