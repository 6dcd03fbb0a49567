/**
 * `toolVersion`: the package version recorded in artifacts' profiles and image labels.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's version (recorded in every artifact's profile); walks up from this file to package.json. */
export function toolVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (p.name === 'airship-image-builder' && p.version) return p.version;
    } catch {
      // not here; keep walking up
    }
  }
  return 'unknown';
}
