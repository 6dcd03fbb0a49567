/**
 * `keyring_url` and `keyring_fingerprint` at `config validate`: the fingerprint is 40 hex digits (blanks and
 * case as gpg prints it are accepted, stored upper-case without blanks), and it pins a downloaded key only;
 * a repo with both a downloaded and a local key is refused, each error with file and line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../src/errors.js';
import { load, loadErrors, scratch } from './fixtures.js';

const FPR = '9DC858229FC7DD38854AE2D88D81803C0EBFCD88';

function repoFile(extra: string): string {
  return [
    'repos_append:',
    '  - name: Extra',
    '    source: https://apt.example.org/debian',
    '    suite: bookworm',
    '    components: main',
    '    packages: [hello]',
    extra,
  ].join('\n');
}

async function withRepo(extra: string) {
  const s = await scratch({ 'rootfs/multistrap-vars.yaml': `${repoFile(extra)}\n` });
  return { dir: s.dir, cleanup: s.cleanup };
}

describe('keyring_url and keyring_fingerprint', () => {
  it('takes a fingerprint as gpg prints it and keeps it upper-case without blanks', async () => {
    const s = await withRepo(
      `    keyring_url: https://apt.example.org/key.asc\n    keyring_fingerprint: "9dc8 5822 9fc7 dd38 854a  e2d8 8d81 803c 0ebf cd88"`,
    );
    try {
      const { config } = await load({ workdir: s.dir });
      const repo = config.multistrap.repos.find((r) => r.name === 'Extra');
      expect(repo).toMatchObject({
        keyring_url: 'https://apt.example.org/key.asc',
        keyring_fingerprint: FPR,
      });
      expect(repo?.keyring_file).toBeUndefined();
    } finally {
      await s.cleanup();
    }
  });

  it.each([
    ['too short', `${FPR.slice(0, 39)}`],
    ['not hex', `${FPR.slice(0, 39)}G`],
    ['a short key id', '0EBFCD88'],
  ])('refuses a fingerprint that is %s, with file and line', async (_why, value) => {
    const s = await withRepo(
      `    keyring_url: https://apt.example.org/key.asc\n    keyring_fingerprint: "${value}"`,
    );
    try {
      const diags = await loadErrors({ workdir: s.dir });
      expect(diags).toHaveLength(1);
      expect(diags[0]).toMatchObject({
        file: join(s.dir, 'rootfs/multistrap-vars.yaml'),
        key: 'repos_append[0].keyring_fingerprint',
        position: { line: 8 },
      });
      expect(formatDiagnostic(diags[0]!)).toContain('expected an OpenPGP v4 key fingerprint (40 hex digits');
    } finally {
      await s.cleanup();
    }
  });

  it('refuses a fingerprint without keyring_url (it would pin nothing)', async () => {
    const s = await withRepo(`    keyring_fingerprint: ${FPR}`);
    try {
      const diags = await loadErrors({ workdir: s.dir });
      expect(diags).toHaveLength(1);
      expect(diags[0]).toMatchObject({ position: { line: 7 } });
      expect(diags[0]!.message).toContain(
        'repo Extra: keyring_fingerprint pins the key downloaded from keyring_url',
      );
    } finally {
      await s.cleanup();
    }
  });

  it('refuses keyring_url together with keyring_file (only one could take effect)', async () => {
    const s = await scratch({
      'rootfs/multistrap-vars.yaml': `${repoFile('    keyring_url: https://apt.example.org/key.asc\n    keyring_file: rootfs/key.gpg')}\n`,
      'rootfs/key.gpg': 'k',
    });
    try {
      const diags = await loadErrors({ workdir: s.dir });
      expect(diags.map((d) => d.message)).toContain(
        'repo Extra gives both keyring_url and keyring_file; give one (the key the repo is verified with)',
      );
    } finally {
      await s.cleanup();
    }
  });

  it('refuses a keyring_url that is not http(s)', async () => {
    const s = await withRepo('    keyring_url: file:///etc/shadow');
    try {
      const diags = await loadErrors({ workdir: s.dir });
      expect(diags[0]).toMatchObject({ key: 'repos_append[0].keyring_url', position: { line: 7 } });
      expect(diags[0]!.message).toContain('expected an http or https URL');
    } finally {
      await s.cleanup();
    }
  });
});
