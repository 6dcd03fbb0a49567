import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hostSourceFor,
  parseDeb822Sources,
  parseOneLineSources,
  readHostAptSources,
} from '../../../src/config/mirror.js';
import { APT_DEB822, APT_ONELINE, load, loadErrors } from './fixtures.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

describe('host apt sources', () => {
  it('parses deb822 stanzas, skipping disabled ones and deb-src-only types', async () => {
    const file = join(APT_DEB822, 'etc/apt/sources.list.d/debian.sources');
    const sources = parseDeb822Sources(await readFile(file, 'utf8'), file);
    expect(sources.map((s) => [s.uri, s.suites, s.components, s.signedBy])).toEqual([
      ['http://mirror.example.org/debian', ['bookworm', 'bookworm-updates'], ['main', 'contrib'], KEYRING],
      ['http://security.example.org/debian-security', ['bookworm-security'], ['main'], KEYRING],
    ]);
  });

  it('parses the one-line form with options, ignoring comments and deb-src', async () => {
    const file = join(APT_ONELINE, 'etc/apt/sources.list');
    const sources = parseOneLineSources(await readFile(file, 'utf8'), file);
    expect(sources.map((s) => [s.uri, s.suites, s.signedBy])).toEqual([
      ['http://mirror.example.org/debian', ['bookworm'], undefined],
      ['http://mirror.example.org/debian', ['bookworm-updates'], undefined],
      ['http://security.example.org/debian-security', ['bookworm-security'], KEYRING],
    ]);
  });

  it('picks the source of a suite, falling back to the main or the security archive', async () => {
    const sources = await readHostAptSources(APT_DEB822);
    expect(hostSourceFor('bookworm', sources)?.uri).toBe('http://mirror.example.org/debian');
    expect(hostSourceFor('trixie', sources)?.uri).toBe('http://mirror.example.org/debian');
    expect(hostSourceFor('trixie-security', sources)?.uri).toBe(
      'http://security.example.org/debian-security',
    );
    expect(hostSourceFor('bookworm', [])).toBeUndefined();
  });

  it('resolves `source: host` of the bundled defaults from a one-line sources.list machine', async () => {
    const { config } = await load({}, { aptRoot: APT_ONELINE });
    expect(config.multistrap.repos.map((r) => r.source)).toEqual([
      'http://mirror.example.org/debian',
      'http://mirror.example.org/debian',
      'http://security.example.org/debian-security',
    ]);
  });

  it('refuses `source: host` with packages on a machine without apt sources', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ib-noapt-'));
    try {
      const diags = await loadErrors({}, { aptRoot: empty });
      expect(diags).toHaveLength(1);
      expect(diags[0]).toMatchObject({ key: 'repos[0].source', position: { line: 114, column: 13 } });
      expect(diags[0]!.message).toContain('this machine has no apt sources');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
