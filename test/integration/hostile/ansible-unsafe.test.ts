import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unsafeInventoryYaml, unsafeVarsYaml } from '../../../src/engine/ansible-vars.js';
import { CANARY_DIR, type Canary, plantCanary } from '../../helpers/canary.js';

/**
 * A real ansible-playbook reads the extra-vars file the osconfig stage writes. The values go straight to the
 * serializer (no validation in front of it), and a test-only playbook on this machine (connection local, so a
 * rendered lookup would run here) writes them back as JSON into a temp folder.
 */
const PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{ data | to_json }}"
        dest: "{{ out }}"
`;

const HOSTILE: Record<string, unknown> = {
  math: '{{ 6 * 7 }}',
  pipe: `{{ lookup('pipe', 'touch ${CANARY_DIR}/x') }}`,
  multiline: `{{\nlookup('pipe', 'touch ${CANARY_DIR}/y')\n}}`,
  statement: `{% for i in range(3) %}{{ i }}{% endfor %}`,
  nested: [{ name: '{{ hostvars }}', list: ['{# c #}', "{{ query('env', 'HOME') }}"] }],
  weird_keys: { '{{ 6 * 7 }}': 'k', 'a b': 1, ok: true, none: null, on: 'yaml 1.1', No: 0, null: 1 },
  unicode: 'ünï ✓ 😀 \u2028 \u0085 tab\there "quote" back\\slash !unsafe &anchor *alias',
  empty: '',
};

/** The playbook over `inventory` (default: localhost), with `varsFile` as extra vars when given. */
function playbook(
  dir: string,
  varsFile: string | undefined,
  inventory = 'localhost,',
): { status: number | null; out: string } {
  const book = join(dir, 'book.yaml');
  writeFileSync(book, PLAYBOOK);
  const extra = varsFile ? ['-e', `@${varsFile}`] : [];
  const r = spawnSync('ansible-playbook', ['-i', inventory, '-c', 'local', ...extra, book], {
    encoding: 'utf8',
    env: {
      ...process.env,
      ANSIBLE_NOCOLOR: 'true',
      ANSIBLE_LOCALHOST_WARNING: 'false',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      // An inventory file is read as engine/ansible.ts reads its own.
      ...(varsFile ? {} : { ANSIBLE_INVENTORY_ENABLED: 'yaml' }),
    },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('extra vars reach ansible-playbook marked unsafe', () => {
  let dir: string;
  let canary: Canary;
  beforeEach(() => {
    canary = plantCanary();
    dir = mkdtempSync(join(tmpdir(), 'aib-unsafe-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('every string arrives literally, at any depth, and no lookup runs', () => {
    const out = join(dir, 'out.json');
    const varsFile = join(dir, 'vars.yaml');
    writeFileSync(varsFile, unsafeVarsYaml({ data: HOSTILE, out }));
    const r = playbook(dir, varsFile);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(HOSTILE);
    canary.check();
  });

  it('an inventory gives each host its own variables, every string arriving literally', () => {
    const outs = [join(dir, 'one.json'), join(dir, 'two.json')];
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      unsafeInventoryYaml({
        'aib-host-1': { data: HOSTILE, out: outs[0] },
        'aib-host-2': { data: { math: '{{ 7 * 6 }}', only: 'two' }, out: outs[1] },
      }),
    );
    const r = playbook(dir, undefined, inventory);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(readFileSync(outs[0] as string, 'utf8'))).toEqual(HOSTILE);
    expect(JSON.parse(readFileSync(outs[1] as string, 'utf8'))).toEqual({ math: '{{ 7 * 6 }}', only: 'two' });
    canary.check();
  });

  // The control: the same playbook with the value in a plain JSON vars file renders it, so the test above
  // would fail if the tag were missing.
  it('without the tag, Ansible would have rendered the value', () => {
    const out = join(dir, 'out.json');
    const varsFile = join(dir, 'vars.json');
    writeFileSync(varsFile, JSON.stringify({ data: { math: '{{ 6 * 7 }}' }, out }));
    const r = playbook(dir, varsFile);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ math: '42' });
  });
});
