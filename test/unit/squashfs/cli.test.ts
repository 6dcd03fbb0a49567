import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

describe('image-builder squash flags', () => {
  it.each([
    [['--comp', 'lzo'], /--comp.*lzo/],
    [['--block-size', '12x'], /expected bytes/],
    [['--block-size', '3000'], /block size: expected a power of two/],
    [['--level', 'high'], /--level expects a whole number/],
  ])('exits 2 for %j', (flags, message) => {
    const r = runCli(['squash', '/nonexistent', '/tmp/never.sqfs', ...flags]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
