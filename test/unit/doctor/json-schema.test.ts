import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/cli.js';
import { validate } from './json-schema.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'docs/doctor.schema.json'), 'utf8'));

describe('the schema validator used for doctor --json', () => {
  it('rejects what the schema forbids, so a passing report means something', () => {
    expect(validate({}, schema)).toContain('$: missing verdict');
    const errs = validate({ schemaVersion: 2, mode: 'vm', load: [1, 2, 3, 4], extra: true }, schema);
    expect(errs).toContain('$.schemaVersion: expected 1');
    expect(errs.some((e) => e.startsWith('$.mode:'))).toBe(true);
    expect(errs).toContain('$.load: more than 3 items');
    expect(errs).toContain('$: unexpected property extra');
    expect(
      validate({ throughput: [{ compressor: 'zstd', level: 3, status: 'measured', ratio: 0 }] }, schema),
    ).toContain('$.throughput[0].ratio: 0 <= 0');
  });
});
