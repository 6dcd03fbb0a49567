/**
 * A fixed place on the host that no hostile input may touch. Hostile fixtures point at it by its absolute path
 * (a symlink in an image to `/tmp/aib-canary/canary.txt`, a mount point `/../../tmp/aib-canary/victim`), so the
 * path is a constant, not a temp name. `check()` fails when anything in it was written, created, renamed or
 * removed.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CANARY_DIR = '/tmp/aib-canary';
/** A regular file the fixtures aim writes at. */
export const CANARY_FILE = join(CANARY_DIR, 'canary.txt');
/** A folder the fixtures aim renames and deletes at (holds one file). */
export const CANARY_FOLDER = join(CANARY_DIR, 'victim');

export interface Canary {
  /** @throws AssertionError-like Error naming what changed. */
  check(): void;
}

function snapshot(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      h.update(`${p}\0${st.mode}\0${st.uid}\0${st.size}\0${st.mtimeMs}\0${st.ino}\n`);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) h.update(readFileSync(p));
    }
  };
  walk(CANARY_DIR);
  return h.digest('hex');
}

const CANARY_TEXT = 'canary: the host file a hostile input must not touch\n';
const KEEP_TEXT = 'host folder content\n';

/** True when the folder holds exactly what `plantCanary` puts there (so another test run's canary is reused). */
function intact(): boolean {
  try {
    const top = readdirSync(CANARY_DIR).sort().join('/');
    const inner = readdirSync(CANARY_FOLDER).join('/');
    return (
      top === 'canary.txt/victim' &&
      inner === 'keep.txt' &&
      lstatSync(CANARY_FILE).isFile() &&
      (lstatSync(CANARY_FILE).mode & 0o7777) === 0o644 &&
      readFileSync(CANARY_FILE, 'utf8') === CANARY_TEXT &&
      lstatSync(join(CANARY_FOLDER, 'keep.txt')).isFile() &&
      readFileSync(join(CANARY_FOLDER, 'keep.txt'), 'utf8') === KEEP_TEXT
    );
  } catch {
    return false;
  }
}

/**
 * Creates the canary folder, or keeps it when it is intact: re-creating it would change its inodes and times
 * under a check of another test process running at the same time.
 */
export function plantCanary(): Canary {
  if (!intact()) {
    rmSync(CANARY_DIR, { recursive: true, force: true });
    mkdirSync(CANARY_FOLDER, { recursive: true, mode: 0o755 });
    writeFileSync(CANARY_FILE, CANARY_TEXT, { mode: 0o644 });
    writeFileSync(join(CANARY_FOLDER, 'keep.txt'), KEEP_TEXT, { mode: 0o644 });
  }
  const before = snapshot();
  return {
    check() {
      let after: string;
      try {
        after = snapshot();
      } catch (err) {
        throw new Error(
          `host canary ${CANARY_DIR} was removed or made unreadable: ${(err as Error).message}`,
        );
      }
      if (after !== before) throw new Error(`host canary ${CANARY_DIR} was changed by a hostile input`);
    },
  };
}
