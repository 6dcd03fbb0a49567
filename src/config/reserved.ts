/**
 * Variable names a manifest may not set. The role receives only its documented variables, but a name that
 * Ansible or the role gives a meaning of its own is refused outright, so that a file copied from elsewhere
 * cannot be read as steering the connection, the inventory or the role's internals.
 */

/** Ansible's magic variables, play keywords and Jinja globals that read as variables. */
const ANSIBLE_NAMES = new Set([
  'hostvars',
  'groups',
  'group_names',
  'omit',
  'play_hosts',
  'playbook_dir',
  'role_name',
  'role_names',
  'role_path',
  'environment',
  'vars',
  'lookup',
  'query',
  'q',
  'now',
  'undef',
  'range',
  'dict',
  'lipsum',
  'cycler',
  'joiner',
  'namespace',
  'self',
  'item',
  'loop',
  'delegate_to',
  'become',
  'become_user',
  'remote_user',
  'connection',
]);

/** Names the osconfig role sets or fills in itself (playbooks/roles/osconfig: defaults, set_fact, loops). */
const ROLE_INTERNAL = new Set([
  'run_context',
  'proxy',
  'no_proxy',
  'hostname',
  'locale',
  'url_resources_dir',
  'args',
  'cmdline',
  'serial',
  'script_index',
  'a',
  'l',
  'm',
  's',
  'u',
]);

const PREFIXES = ['ansible_', 'inventory_', 'playbook_', 'discovered_interpreter_'];

/**
 * Why `name` may not be set from a manifest, or undefined when it may.
 * Names starting with `_` are the role's scratch variables (`_users`, `_files`).
 */
export function reservedReason(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (PREFIXES.some((p) => lower.startsWith(p)) || ANSIBLE_NAMES.has(lower)) {
    return `"${name}" is an Ansible variable or keyword; a manifest cannot set it (manifest variables are data for the role, not Ansible settings)`;
  }
  if (ROLE_INTERNAL.has(name) || name.startsWith('_')) {
    return `"${name}" is a name the osconfig role sets itself; a manifest cannot set it`;
  }
  return undefined;
}
