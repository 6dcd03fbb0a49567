/**
 * A small JSON Schema validator for the keywords docs/doctor.schema.json uses: type, enum, const, properties,
 * required, additionalProperties (false), items, minItems/maxItems, minimum/maximum/exclusiveMinimum and local
 * $ref to $defs. An unknown keyword is an error, so the schema cannot grow past what is checked.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

const KNOWN = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  '$defs',
  '$ref',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
]);

function typeOf(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: Json, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** Errors of `value` against `schema` (empty when valid), each with its JSON path. */
export function validate(value: unknown, root: Schema): string[] {
  const errors: string[] = [];
  const walk = (v: Json, s: Schema, path: string): void => {
    for (const k of Object.keys(s))
      if (!KNOWN.has(k)) errors.push(`${path}: schema keyword ${k} not supported`);
    if (typeof s.$ref === 'string') {
      const name = s.$ref.replace(/^#\/\$defs\//, '');
      const defs = root.$defs as Record<string, Schema> | undefined;
      const target = defs?.[name];
      if (!target) errors.push(`${path}: unresolved $ref ${s.$ref}`);
      else walk(v, target, path);
      return;
    }
    if (typeof s.type === 'string' && !typeMatches(v, s.type)) {
      errors.push(`${path}: expected ${s.type}, got ${typeOf(v)}`);
      return;
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => e === v))
      errors.push(`${path}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`);
    if ('const' in s && s.const !== v) errors.push(`${path}: expected ${JSON.stringify(s.const)}`);
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) errors.push(`${path}: ${v} < ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) errors.push(`${path}: ${v} > ${s.maximum}`);
      if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum)
        errors.push(`${path}: ${v} <= ${s.exclusiveMinimum}`);
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems)
        errors.push(`${path}: fewer than ${s.minItems} items`);
      if (typeof s.maxItems === 'number' && v.length > s.maxItems)
        errors.push(`${path}: more than ${s.maxItems} items`);
      if (s.items && typeof s.items === 'object' && !Array.isArray(s.items)) {
        const items = s.items as Schema;
        v.forEach((x, i) => {
          walk(x, items, `${path}[${i}]`);
        });
      }
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in v)) errors.push(`${path}: missing ${r}`);
      for (const [k, x] of Object.entries(v)) {
        const p = props[k];
        if (p) walk(x, p, `${path}.${k}`);
        else if (s.additionalProperties === false) errors.push(`${path}: unexpected property ${k}`);
      }
    }
  };
  walk(value as Json, root, '$');
  return errors;
}
