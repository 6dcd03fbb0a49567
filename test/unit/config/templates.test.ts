import { describe, expect, it } from 'vitest';
import { mergeLayers } from '../../../src/config/merge.js';
import { resolveTemplates } from '../../../src/config/templates.js';
import { parseYamlSource } from '../../../src/config/yaml-source.js';

function resolve(yaml: string) {
  const table = mergeLayers([parseYamlSource(yaml, 'vars.yaml')]);
  const r = resolveTemplates(table);
  const values = Object.fromEntries([...table].map(([k, e]) => [k, e.resolved]));
  return {
    values,
    messages: r.diagnostics.map((d) => `${d.position?.line}:${d.key}: ${d.message}`),
    referenced: r.referenced,
  };
}

describe('templates', () => {
  it('resolve {{ name }} on one line, whole or inside text, and say which names were used', () => {
    const r = resolve(
      'v: "1.2"\nlist: [a, b]\nwhole: "{{ list }}"\ntext: "k={{ v }}\\tj={{v}}"\nblock: |\n  {{ list }}\n',
    );
    expect(r.messages).toEqual([]);
    expect(r.values).toMatchObject({ whole: ['a', 'b'], text: 'k=1.2\tj=1.2', block: ['a', 'b'] });
    expect([...r.referenced].sort()).toEqual(['list', 'v']);
  });

  it.each([
    ['a filter', 'x: "{{ v | default(1) }}"', 'unsupported template'],
    ['a call', "x: \"{{ lookup('pipe', 'id') }}\"", 'no filters, calls'],
    ['attribute access', 'x: "{{ v.attr }}"', 'unsupported template'],
    ['a name spanning lines', 'x: |\n  {{ v\n  }}', 'spans lines'],
    ['a statement', 'x: "{% if true %}y{% endif %}"', 'Jinja statement'],
    ['a comment', 'x: "a {# b #}"', 'Jinja comment'],
    ['an unterminated {{', 'x: "{{ v"', 'unterminated template'],
    ['a template in a nested key', 'x:\n  - {"{{ v }}": 1}', 'in a key'],
  ])('refuse %s', (_, yaml, message) => {
    const r = resolve(`v: 1\n${yaml}\n`);
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toContain(message);
    expect(r.messages[0]).toMatch(/^\d+:x/);
  });
});
