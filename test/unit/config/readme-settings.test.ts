import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsMarkdown } from '../../../src/config/settings-doc.js';

describe('README settings reference', () => {
  it('is the table generated from the settings table (run `node scripts/update-readme.mjs`)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`<!-- settings:start -->\n${settingsMarkdown()}\n<!-- settings:end -->`);
  });
});
