/**
 * mmdebstrap: bootstraps a Debian-family root file system straight into a tar file (never unpacked on the host).
 * Downloaded packages are synchronised with a persistent archives folder so a rebuild fetches only what is new.
 */
import { mkdir } from 'node:fs/promises';
import { run } from './exec.js';

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
}

export interface MmdebstrapOptions {
  suite: string;
  arch: string;
  sources: readonly MmdebstrapSource[];
  packages: readonly string[];
  /** Tar file to write. */
  output: string;
  /** Persistent /var/cache/apt/archives of previous runs. */
  archivesDir: string;
  uploads: readonly MmdebstrapUpload[];
  /** Paths removed from the root after packages are installed (e.g. the bootstrap sources.list). */
  removeAfter: readonly string[];
  proxy?: string;
  noProxy?: string;
  logFile: string;
  signal?: AbortSignal;
  secrets?: readonly string[];
  onOutput?: (chunk: string) => void;
}

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
    '--mode=auto',
    '--variant=minbase',
    `--architectures=${o.arch}`,
    '--format=tar',
    '--skip=essential/unlink',
    `--setup-hook=mkdir -p "$1/var/cache/apt/archives/"`,
    `--setup-hook=sync-in ${sq(o.archivesDir)} /var/cache/apt/archives/`,
  ];
  if (o.packages.length > 0) args.push(`--include=${o.packages.join(',')}`);
  for (const u of o.uploads.filter((x) => x.when === 'setup')) {
    args.push(`--setup-hook=mkdir -p "$1"${sq(dirOf(u.path))}`);
    args.push(`--setup-hook=upload ${sq(u.hostPath)} ${sq(u.path)}`);
  }
  args.push(`--customize-hook=sync-out /var/cache/apt/archives ${sq(o.archivesDir)}`);
  for (const p of o.removeAfter) args.push(`--customize-hook=rm -f "$1"${sq(p)}`);
  for (const u of o.uploads.filter((x) => x.when === 'customize')) {
    args.push(`--customize-hook=mkdir -p "$1"${sq(dirOf(u.path))}`);
    args.push(`--customize-hook=upload ${sq(u.hostPath)} ${sq(u.path)}`);
  }
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
    ...(o.onOutput ? { onOutput: o.onOutput } : {}),
  });
}
