import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { unsafeInventoryYaml, unsafeVarsYaml } from '../../../src/engine/ansible-vars.js';

describe('the extra-vars file', () => {
  const vars = {
    text: "{{ lookup('pipe', 'id') }}",
    list: ['a', 1, true, null, { nested: 'é😀\n\u2028"\\' }],
    map: { 'not an identifier': 'x', ok: 'y' },
  };
  const out = unsafeVarsYaml(vars);

  it('is plain ASCII, so no byte of user data can break out of a scalar', () => {
    expect(out).toMatch(/^[\x20-\x7e\n]*$/);
  });

  it('tags every string (values and non-identifier keys) !unsafe', () => {
    const body = out.replace(/^#.*\n/gm, '');
    // text, 'a', nested, the key 'not an identifier', 'x', 'y'
    expect(body.match(/!unsafe "/g)).toHaveLength(6);
    expect(body.match(/"(?:[^"\\]|\\.)*"/g)).toHaveLength(6);
  });

  it('reads back as the same data', () => {
    const tags = [{ tag: '!unsafe', resolve: (s: string) => s }];
    expect(parse(out, { customTags: tags, version: '1.1' })).toEqual(vars);
  });

  it('refuses a top-level name that is not an identifier', () => {
    expect(() => unsafeVarsYaml({ 'a b': 1 })).toThrow(TypeError);
  });

  it('keeps keys that YAML 1.1 would read as booleans or null as the strings they are', () => {
    const words = { on: 1, Off: 2, yes: 3, NO: 4, y: 5, n: 6, True: 7, null: 8, only: 9 };
    const back = parse(unsafeVarsYaml({ map: words }), {
      customTags: [{ tag: '!unsafe', resolve: (s: string) => s }],
      version: '1.1',
    });
    expect(back).toEqual({ map: words });
    expect(unsafeVarsYaml({ map: words })).toMatch(/\n {4}only: 9/);
  });
});

describe('the inventory', () => {
  const tags = [{ tag: '!unsafe', resolve: (s: string) => s }];
  const hosts = {
    'aib-osconfig-p1-abc123': { motd: "{{ lookup('pipe', 'id') }}", count: 1 },
    'aib-osconfig-p1-def456': { motd: 'two', list: ['é', { k: 'v' }] },
  };

  it('reads back as each host with its own variables, every string tagged as in the extra-vars file', () => {
    const out = unsafeInventoryYaml(hosts);
    expect(out).toMatch(/^[\x20-\x7e\n]*$/);
    // motd, 'two', 'é', 'v'
    expect(out.replace(/^#.*\n/gm, '').match(/!unsafe "/g)).toHaveLength(4);
    expect(parse(out, { customTags: tags, version: '1.1' })).toEqual({ all: { hosts } });
  });

  it('refuses a host that is not a container name and a variable name that is not an identifier', () => {
    expect(() => unsafeInventoryYaml({ 'a: b': {} })).toThrow(TypeError);
    expect(() => unsafeInventoryYaml({ '-x': {} })).toThrow(TypeError);
    expect(() => unsafeInventoryYaml({ ok: { 'a b': 1 } })).toThrow(TypeError);
  });
});
