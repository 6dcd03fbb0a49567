/**
 * Secrets in a configuration: found on the parsed structure (never by a regex over printed text), masked for
 * printing, and collected as the strings to mask in process output. One walk does both, so what `config`
 * hides and what logs hide cannot drift apart.
 */
import { isCollection, isMap, isPair, isScalar, type Node, parseDocument, visit } from 'yaml';
import type { BuildConfig } from './types.js';

/** What a masked value prints as. */
export const MASK = '***';

/** Key names whose values are secrets, at any depth, in any case. */
const SECRET_KEY =
  /passw(?:or)?d|passphrase|secret|token|private|credential|api[-_]?key|access[-_]?key|auth[-_]?key/i;
/** Keys under a secret key that name the secret rather than hold it (`chpasswd: {users: [{name: …}]}`). */
const LABEL_KEY = /^(?:name|type|expire|user|username|login)$/i;
/** A PEM private key block (RSA, EC, OpenSSH, PKCS#8, PGP), or its start when the end is missing. */
const PEM = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*)-----[\s\S]*?(?:-----END [A-Z0-9 ]*-----|$)/g;
/** The user-info of a URL (`scheme://user:pass@`). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@'"<>]+)@/gi;
/**
 * Secrets shorter than this are masked in printed configuration but not searched for in process output: a
 * two-letter password would blank every occurrence of those letters in a log.
 */
const MIN_SECRET = 4;
/** Each line of a multi-line secret shorter than this is not masked alone (`}` or a blank PEM line). */
const MIN_LINE = 8;

/** True when a key names a secret (password, passwd, token, secret, private key, credential, API key). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** `text` with PEM private keys and URL user-info masked, then every string of `secrets` masked. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(PEM, (_m, kind: string) => `-----BEGIN ${kind}-----\n${MASK}\n-----END ${kind}-----`)
    .replace(URL_USERINFO, `$1${MASK}@`);
  for (const s of secrets) if (s.length > 0) out = out.split(s).join(MASK);
  return out;
}

/** Adds the forms a secret takes in output: itself, JSON-escaped, and each long-enough line of it. */
function addForms(sink: Set<string>, secret: string): void {
  if (secret.trim().length < MIN_SECRET) return;
  sink.add(secret);
  const escaped = JSON.stringify(secret).slice(1, -1);
  if (escaped !== secret) sink.add(escaped);
  const lines = secret.split(/\r?\n/).map((l) => l.trim());
  if (lines.length > 1) for (const line of lines) if (line.length >= MIN_LINE) sink.add(line);
  // `user:password` lines (chpasswd lists, htpasswd): the password alone may be printed too.
  for (const line of lines) {
    const pass = /^[^:\s/]+:(\S+)$/.exec(line)?.[1];
    if (pass && pass.length >= MIN_SECRET) sink.add(pass);
  }
}

/** Secrets found by their form wherever they are: PEM blocks and URL credentials (raw, decoded, as Basic auth). */
function collectInText(text: string, sink: Set<string>): void {
  for (const m of text.matchAll(PEM)) addForms(sink, m[0]);
  for (const m of text.matchAll(URL_USERINFO)) {
    const info = m[2] ?? '';
    addForms(sink, info);
    const colon = info.indexOf(':');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    const user = decode(colon < 0 ? info : info.slice(0, colon));
    const pass = colon < 0 ? '' : decode(info.slice(colon + 1));
    addForms(sink, pass);
    addForms(sink, `${user}:${pass}`);
    if (colon >= 0) addForms(sink, Buffer.from(`${user}:${pass}`).toString('base64'));
  }
}

/**
 * A YAML or JSON document held in a string (cloud-config `user_data`, a `files` entry) with the values of its
 * secret keys masked; the rest keeps its text, comments included. `undefined` when it is not such a document
 * or holds no secret key.
 */
function redactEmbedded(text: string, sink: Set<string>): string | undefined {
  if (!/[:{]/.test(text)) return undefined;
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { uniqueKeys: false, strict: false });
  } catch {
    return undefined;
  }
  if (doc.errors.length > 0 || !isCollection(doc.contents)) return undefined;
  let changed = false;
  const maskNode = (node: unknown, labelled: boolean): void => {
    if (isScalar(node)) {
      if (labelled || typeof node.value === 'boolean' || node.value === null) return;
      addForms(sink, String(node.value));
      node.value = MASK;
      node.type = 'PLAIN';
      changed = true;
    } else if (isMap(node)) {
      for (const p of node.items) maskNode(p.value, isScalar(p.key) && LABEL_KEY.test(String(p.key.value)));
    } else if (isCollection(node)) {
      for (const item of node.items) maskNode(item, false);
    }
  };
  visit(doc, {
    Pair(_key, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || !isSecretKey(String(pair.key.value))) return undefined;
      maskNode(pair.value as Node, false);
      return visit.SKIP;
    },
  });
  return changed ? doc.toString() : undefined;
}

/** Masks one string: an embedded document's secret keys, then PEM blocks and URL user-info. */
function redactString(text: string, sink: Set<string>): string {
  collectInText(text, sink);
  return redactText(redactEmbedded(text, sink) ?? text);
}

/**
 * The copy of `value` with every secret masked, and the secret strings found. A value is secret when its key
 * (at any depth, in any case) names a password, passwd, token, secret, private key, credential or API key;
 * booleans stay (`password_lock`), and so do label keys under a secret key (`name`, `type`). Strings are
 * searched for PEM private keys, URL credentials and embedded YAML/JSON documents with secret keys.
 */
function walk(value: unknown, secret: boolean, sink: Set<string>): unknown {
  if (typeof value === 'string') {
    if (!secret) return redactString(value, sink);
    addForms(sink, value);
    collectInText(value, sink);
    return MASK;
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (!secret) return value;
    addForms(sink, String(value));
    return MASK;
  }
  if (Array.isArray(value)) return value.map((v) => walk(v, secret, sink));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const keySecret = isSecretKey(k);
      out[k] = walk(v, keySecret || (secret && !LABEL_KEY.test(k)), sink);
    }
    return out;
  }
  return value;
}

/**
 * A copy of any JSON-like value safe to print or log: values of secret-named keys masked at any depth, PEM
 * private keys and URL credentials masked in every string, secret keys of embedded YAML/JSON masked.
 */
export function redactValue<T>(value: T): T {
  return walk(value, false, new Set()) as T;
}

/** A copy of the configuration safe to print or log (see {@link redactValue}). */
export function redactSecrets(config: BuildConfig): BuildConfig {
  return redactValue(config);
}

/**
 * Every string that {@link redactValue} would hide in `value`, in the forms it takes in process output
 * (as is, JSON-escaped, line by line, URL credentials decoded and as HTTP Basic auth), longest first so a
 * longer secret is masked before a shorter one inside it. Handed to the engine to mask logs, progress and
 * error text.
 */
export function secretStrings(value: unknown): string[] {
  const sink = new Set<string>();
  walk(value, false, sink);
  return [...sink].sort((a, b) => b.length - a.length);
}

/** cloud-config text with the values of password-like keys and PEM keys masked (see {@link redactValue}). */
export function redactUserData(text: string): string {
  return redactString(text, new Set());
}
