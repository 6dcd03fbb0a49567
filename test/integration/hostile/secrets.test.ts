/**
 * Secrets never leave: a proxy URL, a mirror URL and a `fetch_from_url` URL carrying credentials, a hashed user
 * password, an SSH private key in a `files` entry and a password in cloud-config, planted in one manifests
 * folder. None may appear in `config --json`, `config`, `config validate` warnings, a failed `build`'s output
 * and log, the osconfig stage's progress lines, log and error, or the configured image (exported file system,
 * labels, history) — except where the user asked for it (the key in its file, the hash in /etc/shadow).
 *
 * A real credentialed mirror and proxy are not reachable here: the build runs until apt fails to reach them
 * (through the real mmdebstrap, credentials in auth.conf.d), and the `fetch_from_url` credentials are checked by
 * a local HTTP server that answers only with them, so the test knows they were used.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildConfig, BuildError, resolveConfig } from '../../../src/api.js';
import { hostSourceFor, readHostAptSources } from '../../../src/config/mirror.js';
import { removeImage } from '../../../src/engine/docker.js';
import { newSession } from '../../../src/stages/names.js';
import { applyOsconfig } from '../../../src/stages/osconfig.js';
import { BOOTSTRAP_AUTH_FILE, rootfsStage } from '../../../src/stages/rootfs.js';
import { builtImage, TEST_CACHE, TEST_MANIFESTS, TEST_SETTINGS } from '../../helpers/built-image.js';
import { type Canary, plantCanary } from '../../helpers/canary.js';
import { ROOT, runCli, runCliAsync } from '../../helpers/cli.js';
import { stringsOnDisk } from '../../helpers/disk-strings.js';

const PROXY_PASS = 'Pr0xyPw-5f1c9e77';
const MIRROR_PASS = 'M1rrorPw-7a2b4d31';
const FETCH_PASS = 'F3tchPw-3c8e1f02';
const CLOUD_PASS = 'Cl0udPw-9d0e2a64';
const HASH = `$6$plantedsalt$${'Q'.repeat(43)}${'z'.repeat(43)}`;
const KEY_BODY = [
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBQbGFudGVkU2VjcmV0S2V5Rm9yVGhlU2VjcmV0c1Rlc3QxMjM0NTYAAAA',
];
const PEM = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
const PROXY = `http://proxyuser:${PROXY_PASS}@127.0.0.1:9`;
/** The fetch server's user and the file it serves. */
const FETCH_USER = 'fetchuser';
const FETCHED = 'fetched-with-credentials\n';

/** Every planted secret, by name; none may be printed or left in the image outside its own place. */
const PLANTED: Record<string, string> = {
  'proxy password': PROXY_PASS,
  'mirror password': MIRROR_PASS,
  'fetch password': FETCH_PASS,
  'fetch Basic auth': Buffer.from(`${FETCH_USER}:${FETCH_PASS}`).toString('base64'),
  'cloud-config password': CLOUD_PASS,
  'password hash': HASH,
  'private key line 1': KEY_BODY[0]!,
  'private key line 2': KEY_BODY[1]!,
};

function found(text: string): string[] {
  return Object.entries(PLANTED)
    .filter(([, s]) => text.includes(s))
    .map(([name]) => name);
}

/** runCli without blocking this process (its HTTP server must keep answering). */
function sh(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The test manifests with every secret planted, in a temp folder. */
function plantManifests(dir: string, fetchUrl: string, mirrorUrl: string): string {
  const m = join(dir, 'manifests');
  cpSync(TEST_MANIFESTS, m, { recursive: true });
  const os = join(m, 'rootfs/osconfig-vars.yaml');
  const key = PEM.trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  writeFileSync(
    os,
    readFileSync(os, 'utf8')
      .replace(
        /^files:\n/m,
        `files:\n  - name: /root/.ssh/id_ed25519\n    file_content: |\n${key}\n    permissions: '0600'\n    owner: root\n    group: root\n    run_contexts: [common]\n`,
      )
      .replace(/\$6\$airship\$[^']*/, HASH)
      .replace(/^fetch_from_url: \[\]$/m, `fetch_from_url:\n  - url: ${fetchUrl}\n    use_proxy: false\n`),
  );
  const ms = join(m, 'rootfs/multistrap-vars.yaml');
  writeFileSync(
    ms,
    readFileSync(ms, 'utf8').replace(
      /^repos:\n/m,
      `repos:\n  - name: private\n    source: ${mirrorUrl}\n    suite: bookworm\n    components: main\n    register_repo_with_rootfs: true\n    packages: []\n`,
    ),
  );
  cpSync(join(ROOT, 'defaults/manifests/iso'), join(m, 'iso'), { recursive: true });
  writeFileSync(
    join(m, 'iso/user_data'),
    `#cloud-config\nhostname: secrets-test\nusers:\n  - name: ops\n    "plain_text_passwd": |\n      ${CLOUD_PASS}\nchpasswd: {list: "root:${CLOUD_PASS}", expire: false}\n`,
  );
  return m;
}

/**
 * Where a container on the default bridge reaches this machine: the bridge's gateway, which Docker leaves out
 * of `IPAM.Config` when it picked the default (the subnet's first address).
 */
function bridgeGateway(): string {
  const r = sh('docker', ['network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}']);
  expect(r.status, r.stderr).toBe(0);
  const [cfg] = JSON.parse(r.stdout) as { Subnet?: string; Gateway?: string }[];
  if (cfg?.Gateway) return cfg.Gateway;
  const net = /^(\d+\.\d+\.\d+)\.(\d+)\//.exec(cfg?.Subnet ?? '');
  expect(net, `bridge subnet ${cfg?.Subnet}`).toBeTruthy();
  return `${net![1]}.${Number(net![2]) + 1}`;
}

let dir: string;
let server: Server;
let fetchUrl: string;
let manifests: string;
let config: BuildConfig;
let canary: Canary;
let fetches = 0;
/** The Debian archive the credentialed test mirror stands in front of (this machine's own mirror). */
let UPSTREAM = '';
const mirrorWant = `Basic ${Buffer.from(`mirroruser:${MIRROR_PASS}`).toString('base64')}`;
let port = 0;
/** Authorization headers the mirror path of the server received (apt reads them from auth.conf.d). */
const mirrorAuth: (string | undefined)[] = [];

beforeAll(async () => {
  const host = hostSourceFor('bookworm', await readHostAptSources('/'));
  expect(host, 'this machine has an apt source for bookworm (its own mirror)').toBeTruthy();
  UPSTREAM = host!.uri.replace(/\/+$/, '');
  dir = mkdtempSync(join(tmpdir(), 'aib-secrets-'));
  // Answers only with the right Basic credentials (401 with a challenge otherwise, as a real server does).
  server = createServer((req, res) => {
    if (req.url?.startsWith('/mirror/')) {
      // A mirror that wants credentials: with them, the real archive answers through it.
      mirrorAuth.push(req.headers.authorization);
      if (req.headers.authorization !== mirrorWant) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="mirror"' }).end();
        return;
      }
      httpGet(`${UPSTREAM}${req.url.slice('/mirror'.length)}`, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      }).on('error', () => res.writeHead(502).end());
      return;
    }
    if (req.url?.startsWith('/debian/')) {
      // Seen, then refused: the build stops at apt-get update.
      mirrorAuth.push(req.headers.authorization);
      res.writeHead(404).end();
      return;
    }
    const want = `Basic ${Buffer.from(`${FETCH_USER}:${FETCH_PASS}`).toString('base64')}`;
    if (req.headers.authorization !== want) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="secrets"' }).end('no\n');
      return;
    }
    fetches++;
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(FETCHED);
  });
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  port = (server.address() as AddressInfo).port;
  fetchUrl = `http://${FETCH_USER}:${FETCH_PASS}@${bridgeGateway()}:${port}/resource.txt`;
  manifests = plantManifests(dir, fetchUrl, `http://mirroruser:${MIRROR_PASS}@127.0.0.1:${port}/debian`);
  config = (await resolveConfig({ ...TEST_SETTINGS, workdir: manifests, proxy: PROXY })).config;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('secrets: the CLI prints none', () => {
  const env = () => ({ WORKDIR: relative(ROOT, manifests), PROXY });
  it.each([
    ['config --json', ['config', '--json']],
    ['config', ['config']],
    ['config validate', ['config', 'validate']],
  ])('%s', (_name, args) => {
    canary = plantCanary();
    const r = runCli(args, env());
    expect(r.status, r.stderr).toBe(0);
    expect(found(r.stdout + r.stderr)).toEqual([]);
    // Not vacuous: the planted values are there, masked.
    if (args.length === 1) expect(r.stdout).toContain('secrets-test');
    if (args[1] === 'validate')
      expect(r.stderr).toMatch(/repo private \(http:\/\/\*\*\*@127\.0\.0\.1:\d+\/debian/);
    canary.check();
  });

  it('a build failing on the credentialed mirror and proxy: output, error and log', async () => {
    canary = plantCanary();
    const cache = join(dir, 'cache');
    // Asynchronously, so the mirror (this process's server) can answer apt.
    const r = await runCliAsync(['build'], {
      ...env(),
      IMAGE_BUILDER_CACHE: cache,
      DOCKER_REGISTRY: 'localhost',
      NO_PROXY: '127.0.0.1',
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('rootfs stage failed');
    expect(found(r.stdout + r.stderr)).toEqual([]);
    const logs = readdirSync(join(cache, 'logs'));
    expect(logs.length).toBe(1);
    const log = join(cache, 'logs', logs[0]!);
    expect(statSync(log).mode & 0o777).toBe(0o600);
    const text = readFileSync(log, 'utf8');
    // mmdebstrap ran, in the mode the probe chose, and apt reached for the mirror without its credentials.
    // Every line carries its time.
    const mode = /^\S+Z # mmdebstrap (unshare|root) mode: \S/m.exec(text)?.[1];
    expect(mode, 'the log says which mode and why').toBeDefined();
    expect(text).toMatch(new RegExp(`^\\S+Z \\$ mmdebstrap --mode=${mode} `, 'm'));
    expect(text).toMatch(/http:\/\/127\.0\.0\.1:\d+\/debian bookworm/);
    expect(found(text)).toEqual([]);
    // apt did get the credentials, from the auth.conf.d file of the bootstrap.
    expect(mirrorAuth).toContain(`Basic ${Buffer.from(`mirroruser:${MIRROR_PASS}`).toString('base64')}`);
    canary.check();
  }, 600_000);
});

describe('secrets: the osconfig stage leaves none', () => {
  let image: string | undefined;
  const lines: string[] = [];
  let logFile: string;

  beforeAll(async () => {
    const base = await builtImage();
    logFile = join(dir, 'osconfig.log');
    ({ image } = await applyOsconfig({
      image: base.imageRef,
      vars: config.osconfig,
      runContext: 'common',
      proxy: PROXY,
      session: newSession(),
      logFile,
      onOutput: (l) => lines.push(l),
    }));
  }, 3_600_000);

  afterAll(async () => {
    if (image) await removeImage(image);
  });

  it('used the credentials (the server saw them) and printed none in progress lines or the log', () => {
    expect(fetches).toBeGreaterThan(0);
    expect(lines.join('')).toContain('TASK [osconfig : Fetch resources from URLs]');
    expect(lines.join('')).toContain(`http://***@`);
    expect(found(lines.join(''))).toEqual([]);
    expect(found(readFileSync(logFile, 'utf8'))).toEqual([]);
    expect(statSync(logFile).mode & 0o777).toBe(0o600);
  });

  it('leaves no secret in the image outside its own file, nor in labels and history', () => {
    const c = sh('docker', ['create', image!, '/bin/true']);
    expect(c.status, c.stderr).toBe(0);
    const id = c.stdout.trim();
    const root = join(dir, 'rootfs');
    try {
      const x = sh('sh', [
        '-c',
        `mkdir -p '${root}' && docker export '${id}' | tar -x -C '${root}' 2>/dev/null; true`,
      ]);
      expect(x.status, x.stderr).toBe(0);
    } finally {
      sh('docker', ['rm', '-f', id]);
    }
    const patterns = join(dir, 'patterns');
    writeFileSync(patterns, `${Object.values(PLANTED).join('\n')}\n`);
    const g = sh('grep', ['-rlaF', '-f', patterns, root]);
    const files = g.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => `/${relative(root, f)}`)
      .sort();
    // The key in the file the user asked for, the hash in /etc/shadow: nowhere else.
    expect(files).toEqual(['/etc/shadow', '/root/.ssh/id_ed25519']);
    expect(readFileSync(join(root, 'root/.ssh/id_ed25519'), 'utf8')).toBe(PEM);
    expect(found(readFileSync(join(root, 'etc/shadow'), 'utf8'))).toEqual(['password hash']);
    // The fetched file is there; apt and environment files carry no proxy or mirror credentials.
    expect(readFileSync(join(root, 'tmp/url_resources/resource.txt'), 'utf8')).toBe(FETCHED);
    // Host keys are not baked in: every machine makes its own at first boot, and has its own machine id.
    expect(readdirSync(join(root, 'etc/ssh')).filter((n) => n.startsWith('ssh_host_'))).toEqual([]);
    expect(readFileSync(join(root, 'etc/machine-id'), 'utf8')).toBe('');
    const unit = readFileSync(join(root, 'etc/systemd/system/airship-ssh-host-keys.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/bin/ssh-keygen -A');
    expect(unit).toContain('Before=ssh.service');
    expect(
      readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/airship-ssh-host-keys.service')),
    ).toBe('/etc/systemd/system/airship-ssh-host-keys.service');
    rmSync(root, { recursive: true, force: true });
    const inspect = sh('docker', ['image', 'inspect', image!]);
    const history = sh('docker', ['history', '--no-trunc', image!]);
    expect(inspect.status).toBe(0);
    expect(found(inspect.stdout + history.stdout)).toEqual([]);
  }, 600_000);

  it('the QCOW2 and the ISO cut from that image carry no credential; the cut prints none', async () => {
    canary = plantCanary();
    // The image above, under a reference of this test's own, cut through the CLI with the planted manifests.
    const tag = sh('docker', ['tag', image!, 'localhost/airship-secrets/image-builder:cut-debian_bookworm']);
    expect(tag.status, tag.stderr).toBe(0);
    const out = join(dir, 'out');
    const env = {
      WORKDIR: relative(ROOT, manifests),
      PROXY,
      NO_PROXY: '127.0.0.1',
      IMAGE_BUILDER_CACHE: join(dir, 'cut-cache'),
      DOCKER_REGISTRY: 'localhost',
      IMAGE_PREFIX: 'airship-secrets',
      IMAGE_TAG: 'cut',
      OUT_DIR: out,
      BOOT_TIMEOUT: '0',
    };
    try {
      const qcow = await runCliAsync(['cut-image', '--type', 'qcow', '--qcow-names', 'control-plane'], env);
      expect(qcow.status, qcow.stderr).toBe(0);
      const iso = await runCliAsync(['cut-image', '--type', 'iso'], env);
      expect(iso.status, iso.stderr).toBe(0);
      expect(found(qcow.stdout + qcow.stderr + iso.stdout + iso.stderr)).toEqual([]);
      for (const log of readdirSync(join(dir, 'cut-cache', 'logs'))) {
        expect(found(readFileSync(join(dir, 'cut-cache', 'logs', log), 'utf8')), log).toEqual([]);
      }
      // Every byte of the disk, decompressed: the credentials of URLs and the proxy are nowhere on it. The
      // hash (/etc/shadow) and the key (the file the user asked for) are there by design, the cloud-config
      // password belongs to the ISO's config-drive only.
      const urlSecrets = ['proxy password', 'mirror password', 'fetch password', 'fetch Basic auth'];
      const disk = stringsOnDisk(join(out, 'control-plane.qcow2'), PLANTED, join(dir, 'disk.raw'));
      expect(disk.filter((n) => n !== 'password hash' && !n.startsWith('private key'))).toEqual([]);
      expect(disk).toContain('password hash'); // not vacuous: the disk's files are readable this way
      const isoFound = stringsOnDisk(join(out, 'ephemeral.iso'), PLANTED, join(dir, 'iso.raw'));
      for (const n of urlSecrets) expect(isoFound).not.toContain(n);
    } finally {
      sh('docker', ['rmi', 'localhost/airship-secrets/image-builder:cut-debian_bookworm']);
    }
    canary.check();
  }, 1_800_000);

  it('a failing fetch: the error, its log tail and the log name no credential', async () => {
    const wrong = fetchUrl.replace(FETCH_PASS, `${FETCH_PASS}-wrong`);
    const log = join(dir, 'failing.log');
    const err = await applyOsconfig({
      image: (await builtImage()).imageRef,
      vars: { ...config.osconfig, fetch_from_url: [{ url: wrong, use_proxy: false }] },
      runContext: 'common',
      proxy: PROXY,
      session: newSession(),
      logFile: log,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    const e = err as BuildError;
    expect(e.message).toContain('Fetch resources from URLs');
    expect(e.message).toContain('401');
    expect(found(`${e.message}\n${e.details.logTail ?? ''}\n${readFileSync(log, 'utf8')}`)).toEqual([]);
  }, 600_000);
});

describe('secrets: a real bootstrap from a mirror that wants credentials', () => {
  it('apt gets them from auth.conf.d; the root file system keeps neither them, the file nor host keys', async () => {
    const cacheDir = join(dir, 'bootstrap');
    // The debs of the shared test image's bootstrap: only the indexes come through the mirror.
    cpSync(join(TEST_CACHE, 'apt-archives'), join(cacheDir, 'apt-archives'), { recursive: true });
    const logFile = join(dir, 'bootstrap.log');
    const seenBefore = mirrorAuth.length;
    const { tar } = await rootfsStage({
      multistrap: {
        ...config.multistrap,
        repos: [
          {
            name: 'private',
            source: `http://mirroruser:${MIRROR_PASS}@127.0.0.1:${port}/mirror`,
            suite: 'bookworm',
            components: ['main'],
            // Its postinst makes host keys: the bootstrap must not keep them.
            packages: ['openssh-server'],
            register_repo_with_rootfs: true,
            omitdebsrc: true,
          },
        ],
        unapproved_packages: [],
      },
      manifestsDir: null,
      proxy: PROXY,
      noProxy: '127.0.0.1',
      cacheDir,
      digest: 'secrets',
      logFile,
    });
    expect(mirrorAuth.slice(seenBefore)).toContain(mirrorWant);
    const list = sh('tar', ['-tf', tar]);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain('./etc/apt/sources.list.d/airship.list');
    expect(list.stdout).not.toContain(`.${BOOTSTRAP_AUTH_FILE}`);
    expect(list.stdout).toContain('./usr/sbin/sshd');
    expect(list.stdout).not.toContain('./etc/ssh/ssh_host_');
    const sources = sh('tar', ['-xOf', tar, './etc/apt/sources.list.d/airship.list']).stdout;
    expect(sources).toContain(`deb http://127.0.0.1:${port}/mirror bookworm main`);
    const grep = sh('grep', ['-caF', '-e', MIRROR_PASS, '-e', PROXY_PASS, '-e', mirrorWant.slice(6), tar]);
    expect(grep.stdout.trim()).toBe('0');
    expect(found(readFileSync(logFile, 'utf8'))).toEqual([]);
    rmSync(cacheDir, { recursive: true, force: true });
  }, 1_800_000);
});
