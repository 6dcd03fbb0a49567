import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_FILE, plantCanary } from '../../helpers/canary.js';
import { ROOT, runCli } from '../../helpers/cli.js';

/**
 * Things in place of a manifest file that cannot be committed as fixtures (FIFOs, sockets, devices, huge files,
 * alias bombs) or that point at the host canary. Each is built in a temp manifests folder and must be refused by
 * `config validate` with exit 2, naming the file (and line:column where there is one), in well under the time
 * the old reader needed (a FIFO blocked forever, a 56 MB file took over 30 s).
 */
const OSCONFIG = 'rootfs/osconfig-vars.yaml';

function bomb(): string {
  let s = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
  let prev = 'a';
  for (let i = 0; i < 12; i++) {
    s += `b${i}: &b${i} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
    prev = `b${i}`;
  }
  return s;
}

function mergeBomb(): string {
  let s = 'base: &m0 {k0: 1}\n';
  for (let i = 1; i < 30; i++)
    s += `m${i}: &m${i}\n  <<: [${Array(20)
      .fill(`*m${i - 1}`)
      .join(', ')}]\n  k${i}: 1\n`;
  return s;
}

interface Case {
  /** Manifest file the finding is about. */
  file: string;
  make(path: string): void;
  expect: string;
  /** line:column the message must carry. */
  at?: string;
}

const sockets: Server[] = [];

const CASES: Record<string, Case> = {
  'FIFO as a vars file': { file: OSCONFIG, make: (p) => execFileSync('mkfifo', [p]), expect: 'is a FIFO' },
  'FIFO as user_data': {
    file: 'iso/user_data',
    make: (p) => execFileSync('mkfifo', [p]),
    expect: 'is a FIFO',
  },
  'socket as meta_data.json': {
    file: 'iso/meta_data.json',
    make: (p) => {
      const s = createServer();
      s.listen(p);
      sockets.push(s);
    },
    expect: 'is a socket',
  },
  'folder as a vars file': { file: OSCONFIG, make: (p) => mkdirSync(p), expect: 'is a folder' },
  'character device as a vars file': {
    file: OSCONFIG,
    make: (p) => symlinkSync('/dev/zero', p),
    expect: 'is a device',
  },
  'dangling symlink as a vars file': {
    file: 'rootfs/multistrap-vars.yaml',
    make: (p) => symlinkSync('/nonexistent/vars.yaml', p),
    expect: 'which does not exist',
  },
  'symlink to the host canary': {
    file: OSCONFIG,
    make: (p) => symlinkSync(CANARY_FILE, p),
    expect: 'outside the manifests folder',
  },
  'symlink to the host canary as network_data.json': {
    file: 'iso/network_data.json',
    make: (p) => symlinkSync(CANARY_FILE, p),
    expect: 'outside the manifests folder',
  },
  'file reference to the host canary': {
    file: OSCONFIG,
    make: (p) => writeFileSync(p, '../../../../../../../../tmp/aib-canary/canary.txt\n'),
    expect: 'outside the manifests folder',
    at: '1:1',
  },
  'a 56 MB vars file': {
    file: OSCONFIG,
    make: (p) => writeFileSync(p, `sysctl:\n${'  - {name: a, value: b}\n'.repeat(2_500_000)}`),
    expect: 'a manifest file may hold at most',
  },
  'a 56 MB user_data': {
    file: 'iso/user_data',
    make: (p) => writeFileSync(p, `#cloud-config\n${'#'.repeat(56e6)}\n`),
    expect: 'a manifest file may hold at most',
  },
  'Latin-1 text': {
    file: OSCONFIG,
    make: (p) => writeFileSync(p, Buffer.from('banners:\n  motd: "caf\xe9"\n', 'latin1')),
    expect: 'is not UTF-8 text',
    at: '2:13',
  },
  'alias bomb': {
    file: OSCONFIG,
    make: (p) => writeFileSync(p, bomb()),
    expect: 'YAML aliases expand too far',
  },
  'merge-key bomb': {
    file: 'rootfs/livecdcontent-vars.yaml',
    make: (p) => writeFileSync(p, mergeBomb()),
    expect: 'YAML aliases expand too far',
  },
  'alias bomb in user_data': {
    file: 'iso/user_data',
    make: (p) => writeFileSync(p, `#cloud-config\n${bomb()}`),
    expect: 'YAML aliases expand too far',
  },
};

describe('hostile config files', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'aib-hostile-config-'));
  });
  afterAll(() => {
    for (const s of sockets) s.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(Object.entries(CASES))('%s: exit 2 naming the file, in under 3 s', (name, c) => {
    const canary = plantCanary();
    const dir = join(root, name.replace(/\W+/g, '-'), 'manifests');
    mkdirSync(join(dir, c.file, '..'), { recursive: true });
    c.make(join(dir, c.file));
    const t = Date.now();
    const r = runCli(['config', 'validate', '--workdir', dir]);
    const took = Date.now() - t;
    const where = join(dir, c.file) + (c.at ? `:${c.at}` : '');
    expect(r.stderr).toContain(`error: ${where}:`);
    expect(r.stderr).toContain(c.expect);
    expect(r.status).toBe(2);
    // The CLI's own start-up is most of this; the old reader blocked on a FIFO and spent 30 s on 56 MB.
    expect(took).toBeLessThan(3000);
    canary.check();
  });

  // Root reads any file, so the CLI runs as nobody here (setpriv), on a file only root may read.
  it('an unreadable vars file: exit 2 naming the file', () => {
    const canary = plantCanary();
    const dir = join(root, 'unreadable', 'manifests');
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    const file = join(dir, OSCONFIG);
    writeFileSync(file, 'sysctl: []\n', { mode: 0o600 });
    chmodSync(root, 0o755);
    chmodSync(join(root, 'unreadable'), 0o755);
    const main = join(ROOT, 'dist/src/cli/main.js');
    const r = spawnSync(
      'setpriv',
      [
        '--reuid',
        '65534',
        '--regid',
        '65534',
        '--clear-groups',
        process.execPath,
        main,
        'config',
        'validate',
        '--workdir',
        dir,
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } },
    );
    expect(r.stderr).toContain(`error: ${file}: cannot be read: permission denied`);
    expect(r.status).toBe(2);
    canary.check();
  });
});
