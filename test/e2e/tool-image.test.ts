/**
 * End to end: the tool as its own container image. scripts/tool-image builds it (on a base bootstrapped here,
 * since this machine reaches no container registry); then, through `docker run` with only the engine's socket
 * and one temp folder mounted, as a non-root user, with no added capability, the bundled defaults are built
 * and cut as an ISO and as QCOW2s, one of each boots under TCG to its login prompt, and the same image cut on
 * the host with the same SOURCE_DATE_EPOCH gives the same bytes. Times go to `$TOOL_E2E_TIMINGS` (default
 * /var/tmp/tool-image-e2e-timings.json) for the report.
 */
import { spawn } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CACHE } from '../helpers/built-image.js';
import { ROOT } from '../helpers/cli.js';

const TOOL = process.env.TOOL_IMAGE ?? 'airship-image-builder/tool:e2e';
const SOCKET = '/var/run/docker.sock';
/** The image's own unprivileged user (Dockerfile). */
const UID = 10001;
const EPOCH = '1700000000';
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const IMAGE_ENV = { DOCKER_REGISTRY: 'localhost', IMAGE_PREFIX: 'airship-tooltest', IMAGE_TAG: 'e2e' };
const IMAGE_REF = 'localhost/airship-tooltest/image-builder:e2e-debian_bookworm';
/** Downloaded packages kept between runs: copied into the mounted folder's cache and back. */
const APT_KEEP = join(TEST_CACHE, 'apt-archives');

const work = mkdtempSync('/var/tmp/tool-e2e-');
const timings: Record<string, number | string> = {};

interface Run {
  code: number | null;
  out: string;
}

/** Runs a command, streaming its output to the test log and keeping it for assertions. */
function sh(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (b: Buffer) => {
      out += b.toString();
      process.stdout.write(b);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** `docker run` of the tool with only the socket and the work folder (at its own path), as the image's user. */
function inTool(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const sockGid = statSync(SOCKET).gid;
  const e = Object.entries({ ...IMAGE_ENV, ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return sh('docker', [
    'run',
    '--rm',
    '--user',
    `${UID}:${UID}`,
    '--group-add',
    String(sockGid),
    '-v',
    `${SOCKET}:${SOCKET}`,
    '-v',
    `${work}:${work}`,
    '-w',
    work,
    '--security-opt',
    'no-new-privileges',
    ...e,
    TOOL,
    ...args,
  ]);
}

/** The compiled CLI on the host, cache and outputs in the work folder too. */
function onHost(args: readonly string[], env: Record<string, string>): Promise<Run> {
  return sh(process.execPath, [MAIN, ...args], {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    ...IMAGE_ENV,
    IMAGE_BUILDER_CACHE: join(work, 'host-cache'),
    ...env,
  });
}

async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const r = await f();
  timings[name] = Date.now() - t;
  return r;
}

function copyDebs(from: string, to: string): void {
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from))
    if (f.endsWith('.deb') && !existsSync(join(to, f))) copyFileSync(join(from, f), join(to, f));
}

beforeAll(async () => {
  const r = await timed('toolImageMs', () => sh('bash', [join(ROOT, 'scripts/tool-image'), TOOL]));
  expect(r.code, 'scripts/tool-image failed').toBe(0);
  const size = await sh('docker', ['image', 'inspect', '--format', '{{.Size}}', TOOL]);
  timings.toolImageBytes = size.out.trim();
  copyDebs(APT_KEEP, join(work, '.cache/image-builder/apt-archives'));
  await sh('chown', ['-R', `${UID}:${UID}`, work]);
  chownSync(work, UID, UID);
}, 3_600_000);

afterAll(async () => {
  copyDebs(join(work, '.cache/image-builder/apt-archives'), APT_KEEP);
  const file = process.env.TOOL_E2E_TIMINGS ?? '/var/tmp/tool-image-e2e-timings.json';
  writeFileSync(file, `${JSON.stringify(timings, null, 2)}\n`);
  process.stdout.write(`tool image timings: ${JSON.stringify(timings)}\n`);
  await sh('docker', ['image', 'rm', IMAGE_REF]);
  rmSync(work, { recursive: true, force: true });
}, 600_000);

describe('e2e: the tool image, with only the Docker socket and a folder', () => {
  it('carries the OCI labels and runs as a non-root user', async () => {
    const r = await sh('docker', [
      'image',
      'inspect',
      '--format',
      '{{json .Config.Labels}} {{.Config.User}} {{json .Config.Entrypoint}}',
      TOOL,
    ]);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    expect(r.out).toContain(`"org.opencontainers.image.version":"${version}"`);
    expect(r.out).toMatch(/"org\.opencontainers\.image\.revision":"[0-9a-f]{40}/);
    expect(r.out).toContain('"org.opencontainers.image.source"');
    expect(r.out).toContain(' builder ["/usr/bin/tini","--","image-builder"]');
  });

  it('builds the bundled defaults in the container (mmdebstrap in fakechroot mode)', async () => {
    const r = await timed('containerBuildMs', () => inTool(['build']));
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(r.out).toMatch(/fakechroot mode: .*uid 10001/);
    // The log named in the output is there for the user: the folder is mounted at the path the user sees.
    const log = /^log: (.+)$/m.exec(r.out)?.[1] ?? '';
    expect(log).toMatch(/logs\/build-/);
    expect(existsSync(resolve(work, log)), log).toBe(true);
    const id = await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE_REF]);
    expect(id.code).toBe(0);
  }, 3_600_000);

  // The two kinds at once: a TCG guest takes one core, and the other kind's cut the rest.
  describe.concurrent('cuts', () => {
    it('cuts the ISO in the container, boots it under TCG, and the host cuts the same bytes', async ({
      expect,
    }) => {
      const env = { SOURCE_DATE_EPOCH: EPOCH, BOOT_TIMEOUT: '0', IMAGE_TYPE: 'iso' };
      const c = await timed('containerIsoCutMs', () =>
        inTool(['cut-image'], { ...env, OUT_DIR: 'out-c-iso' }),
      );
      expect(c.code, c.out.slice(-3000)).toBe(0);
      const iso = join(work, 'out-c-iso/ephemeral.iso');
      expect(c.out).toContain(iso);
      const [boot, h] = await Promise.all([
        timed('containerIsoBootMs', () =>
          inTool(['boot-test', iso, '--firmware', 'bios', '--boot-timeout', '900']),
        ),
        onHost(['cut-image'], { ...env, OUT_DIR: join(work, 'out-h-iso') }),
      ]);
      expect(boot.code, boot.out.slice(-3000)).toBe(0);
      expect(boot.out).toMatch(/bios login prompt after \d+ s \(tcg\)/);
      expect(h.code, h.out.slice(-3000)).toBe(0);
      expect(readFileSync(join(work, 'out-h-iso/ephemeral.iso')).equals(readFileSync(iso))).toBe(true);
    }, 3_600_000);

    it('cuts the QCOW2s in the container, boots one under TCG, and the host cuts the same bytes', async ({
      expect,
    }) => {
      const env = { SOURCE_DATE_EPOCH: EPOCH, BOOT_TIMEOUT: '0', IMAGE_TYPE: 'qcow' };
      const c = await timed('containerQcowCutMs', () =>
        inTool(['cut-image'], { ...env, OUT_DIR: 'out-c-qcow' }),
      );
      expect(c.code, c.out.slice(-3000)).toBe(0);
      const names = ['control-plane.qcow2', 'data-plane.qcow2'];
      for (const n of names) expect(existsSync(join(work, 'out-c-qcow', n)), n).toBe(true);
      const [boot, h] = await Promise.all([
        timed('containerQcowBootMs', () =>
          inTool([
            'boot-test',
            join(work, 'out-c-qcow/control-plane.qcow2'),
            '--firmware',
            'uefi',
            '--boot-timeout',
            '900',
          ]),
        ),
        onHost(['cut-image'], { ...env, OUT_DIR: join(work, 'out-h-qcow') }),
      ]);
      expect(boot.code, boot.out.slice(-3000)).toBe(0);
      expect(boot.out).toMatch(/uefi login prompt after \d+ s \(tcg\)/);
      expect(h.code, h.out.slice(-3000)).toBe(0);
      for (const n of names)
        expect(
          readFileSync(join(work, 'out-h-qcow', n)).equals(readFileSync(join(work, 'out-c-qcow', n))),
          n,
        ).toBe(true);
    }, 3_600_000);
  });
});
