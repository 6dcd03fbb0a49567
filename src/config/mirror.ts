/**
 * The machine's own apt sources. The bundled defaults write `source: host` instead of a mirror address; it is
 * resolved here from /etc/apt/sources.list.d/*.sources (deb822) and /etc/apt/sources.list (one-line form).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One `deb` source of the host. */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  /** The keyring file the host verifies this source with, when it names one. */
  signedBy?: string;
  /** File the entry was read from. */
  file: string;
}

/** Parses the deb822 form (`Types:`/`URIs:`/`Suites:` stanzas); only `deb` entries are kept. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  const stanzas = text.split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (/^\s*#/.test(line) || line.trim() === '') continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    if (fields.get('enabled')?.toLowerCase() === 'no') continue;
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    const components = (fields.get('components') ?? '').split(/\s+/).filter(Boolean);
    const signedBy = fields.get('signed-by');
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) {
      const s: AptSource = { uri, suites, components, file };
      if (signedBy?.startsWith('/')) s.signedBy = signedBy;
      out.push(s);
    }
  }
  return out;
}

/** Parses the one-line form: `deb [signed-by=/path arch=amd64] URI SUITE COMPONENT...`. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const s: AptSource = {
      uri: m[2]!,
      suites: [m[3]!],
      components: m[4]!.split(/\s+/).filter(Boolean),
      file,
    };
    const signed = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? '');
    if (signed?.[1]?.startsWith('/')) s.signedBy = signed[1];
    out.push(s);
  }
  return out;
}

/**
 * Reads the host's apt sources below `root` (`/` normally; a test folder in tests). Missing files are
 * simply absent: a machine without apt has no host sources.
 */
export async function readHostAptSources(root = '/'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const dir = join(root, 'etc/apt/sources.list.d');
  let names: string[] = [];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    names = [];
  }
  const readOr = async (p: string) => readFile(p, 'utf8').catch(() => '');
  out.push(
    ...parseOneLineSources(
      await readOr(join(root, 'etc/apt/sources.list')),
      join(root, 'etc/apt/sources.list'),
    ),
  );
  for (const n of names) {
    const p = join(dir, n);
    if (n.endsWith('.sources')) out.push(...parseDeb822Sources(await readOr(p), p));
    else if (n.endsWith('.list')) out.push(...parseOneLineSources(await readOr(p), p));
  }
  return out;
}

/**
 * The host source to use for `suite`: the entry listing that suite; otherwise, for a `-security` suite, any
 * security entry, and for any other suite, the first entry that is not a security archive (a Debian mirror
 * serves every release, so a trixie host can still fetch bookworm).
 */
export function hostSourceFor(suite: string, sources: readonly AptSource[]): AptSource | undefined {
  const exact = sources.find((s) => s.suites.includes(suite));
  if (exact) return exact;
  const security = suite.endsWith('-security');
  return sources.find((s) => s.suites.some((x) => x.endsWith('-security') === security));
}

/** Host name of a URL, lower-case; undefined when it is not a URL. */
export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/** A mirror URL split from the credentials written into it. */
export interface MirrorCredentials {
  /** The URL without `user:password@`. */
  url: string;
  /** Decoded user and password; absent when the URL carries none. */
  login?: string;
  password?: string;
}

/**
 * Splits `scheme://user:password@host/path` into the URL apt may show and write into sources, and the
 * credentials that go to `/etc/apt/auth.conf.d` instead. A string that is not a URL is returned as it is.
 */
export function splitMirrorCredentials(source: string): MirrorCredentials {
  let u: URL;
  try {
    u = new URL(source);
  } catch {
    return { url: source };
  }
  if (!u.username && !u.password) return { url: source };
  const login = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const at = source.indexOf('@', source.indexOf('://') + 3);
  return { url: `${source.slice(0, source.indexOf('://') + 3)}${source.slice(at + 1)}`, login, password };
}

/**
 * The apt_auth.conf(5) entry for a mirror: `machine scheme://host[:port]/path login … password …`. The scheme
 * is written out because an entry without one applies to https only. apt splits the file on blanks and has no
 * quoting, so credentials with blanks or control characters cannot be written.
 * @throws Error naming the mirror when the credentials cannot be written.
 */
export function aptAuthEntry(url: string, login: string, password: string): string {
  const u = new URL(url);
  const where = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  for (const v of [login, password])
    if (/[\s\p{Cc}]/u.test(v) || v === '')
      throw new Error(
        `the credentials of mirror ${where} contain a blank or control character (or are empty); apt's auth.conf cannot carry them`,
      );
  return `machine ${where} login ${login} password ${password}\n`;
}
