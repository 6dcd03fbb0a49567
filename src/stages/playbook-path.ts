/**
 * Where the bundled Ansible playbooks are, from src/ as from dist/src/.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundled `playbooks/<name>` (found upward from this file: works from src/ and from dist/src/). */
export function bundledPlaybook(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'playbooks', name);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(`bundled playbook ${name} not found above ${fileURLToPath(import.meta.url)}`);
}
