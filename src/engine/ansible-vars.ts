/**
 * Variables handed to ansible-playbook, as extra vars (`-e @vars.yaml`) or as an inventory's host variables:
 * YAML in which every string is tagged `!unsafe`, so Ansible never renders user data as a template
 * (`{{ lookup('pipe', …) }}` arrives as text).
 * The file is plain ASCII: every other character is written as an escape, so no byte of user data can end a
 * scalar, start a tag or be read by PyYAML as a line break.
 */

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Identifiers PyYAML (YAML 1.1) reads as a boolean or null when plain: as keys they are quoted. */
const YAML11_WORDS = /^(?:y|yes|n|no|true|false|on|off|null)$/i;

/** A YAML double-quoted scalar with everything outside printable ASCII escaped. */
function quoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

function scalar(v: unknown, path: string): string {
  if (typeof v === 'string') return `!unsafe ${quoted(v)}`;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new TypeError(`extra var ${path}: cannot be written as YAML (${typeof v})`);
}

function emit(v: unknown, path: string, indent: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x, i) => `${indent}  ${emit(x, `${path}[${i}]`, `${indent}  `)}`).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    const items = entries.map(([k, x]) => {
      // Keys are the role's own names; any other key (a nested `on:` too) is data, marked like the rest.
      const key = IDENT.test(k) && !YAML11_WORDS.test(k) ? k : `!unsafe ${quoted(k)}`;
      return `${indent}  ${key}: ${emit(x, `${path}.${k}`, `${indent}  `)}`;
    });
    return `{\n${items.join(',\n')}\n${indent}}`;
  }
  return scalar(v, path);
}

/**
 * Serialises `vars` (top-level names must be identifiers) as an Ansible extra-vars YAML document with every
 * string marked unsafe.
 * @throws TypeError for a top-level name that is not an identifier, or a value that is not JSON data.
 */
export function unsafeVarsYaml(vars: Readonly<Record<string, unknown>>): string {
  checkNames(vars);
  return `${HEADER}${emit(vars, 'vars', '')}\n`;
}

const HEADER = '# Written by airship-image-builder: every string is !unsafe (never templated by Ansible).\n';

function checkNames(vars: Readonly<Record<string, unknown>>): void {
  for (const k of Object.keys(vars)) {
    if (!IDENT.test(k)) throw new TypeError(`extra var name ${JSON.stringify(k)} is not an identifier`);
  }
}

/** Container names as Docker takes them. */
const HOST = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * An inventory for the YAML inventory plugin: each host (a container name) with its own variables, marked as
 * {@link unsafeVarsYaml} marks them. One ansible-playbook then configures several containers, each as its own
 * variables say.
 * @throws TypeError for a host that is not a container name, or as {@link unsafeVarsYaml}.
 */
export function unsafeInventoryYaml(
  hosts: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): string {
  const entries = Object.entries(hosts).map(([host, vars]) => {
    if (!HOST.test(host))
      throw new TypeError(`inventory host ${JSON.stringify(host)} is not a container name`);
    checkNames(vars);
    return `    ${host}: ${emit(vars, host, '      ')}`;
  });
  return `${HEADER}all:\n  hosts:\n${entries.join('\n')}\n`;
}
