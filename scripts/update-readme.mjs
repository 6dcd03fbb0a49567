// Regenerates the settings table in README.md from src/config/settings.ts (run after `npm run build:ts`).
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsMarkdown } from '../dist/src/config/settings-doc.js';

const START = '<!-- settings:start -->';
const END = '<!-- settings:end -->';
const readme = readFileSync('README.md', 'utf8');
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) throw new Error('README.md lacks the settings markers');
writeFileSync('README.md', `${readme.slice(0, a + START.length)}\n${settingsMarkdown()}\n${readme.slice(b)}`);
