import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_DIR, CANARY_FILE, plantCanary } from '../../helpers/canary.js';
import { runCli } from '../../helpers/cli.js';

/**
 * The original's script folders (`scripts/common/`, `scripts/qcow/`) are read into the image and run there: a
 * file in them that is not a regular text file inside the manifests folder (a symlink to a host file, a FIFO,
 * a folder, a binary) must be refused by `config validate` with exit 2 naming it, before any build, so a host
 * file never reaches an image.
 */
const CASES: Record<string, { make(path: string): void; expect: string }> = {
  'script symlinked to the host canary file': {
    make: (p) => symlinkSync(CANARY_FILE, p),
    expect: 'outside the manifests folder',
  },
  'script symlinked to /etc/shadow': {
    make: (p) => symlinkSync('/etc/shadow', p),
    expect: 'outside the manifests folder',
  },
  'script symlinked to the host canary folder': {
    make: (p) => symlinkSync(join(CANARY_DIR, 'victim'), p),
    expect: 'is a folder',
  },
  'FIFO as a script': { make: (p) => execFileSync('mkfifo', [p]), expect: 'is a FIFO' },
  'binary as a script': {
    make: (p) => writeFileSync(p, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0])),
    expect: 'must be text',
  },
  'folder in a script folder': { make: (p) => mkdirSync(p), expect: 'is a folder' },
};

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'aib-hostile-scripts-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('hostile script folders', () => {
  it.each(Object.entries(CASES).flatMap(([name, c]) => ['common', 'qcow'].map((ctx) => ({ name, ctx, c }))))(
    '$name in scripts/$ctx is exit 2 naming it',
    ({ name, ctx, c }) => {
      const manifests = join(root, `${name.replace(/\W+/g, '-')}-${ctx}`, 'manifests');
      mkdirSync(join(manifests, 'scripts', ctx), { recursive: true });
      const script = join(manifests, 'scripts', ctx, '10-hostile.sh');
      const canary = plantCanary();
      c.make(script);
      const r = runCli(['config', 'validate', '--workdir', manifests]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(script);
      expect(r.stderr).toContain(c.expect);
      canary.check();
    },
  );
});
