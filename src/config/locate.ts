/**
 * Where the original's layout puts things: the `profiles/` folder of PROFILE and the bundle folders of
 * QCOW_BUNDLE / QCOW_BUNDLE_DIRS. Every location is checked here, before anything is read from it: a name
 * is a name, a path must end inside the manifests folder (after symlinks), and two candidates for one
 * profile are an error rather than a silent pick.
 */
import { readdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { suggestion } from './did-you-mean.js';
import { isDir } from './files.js';
import { bundledProfile } from './profiles.js';
import { FOLDER_NAME } from './settings.js';

function problem(file: string, key: string, message: string): Diagnostic {
  return { severity: 'error', file, key, message };
}

async function real(path: string): Promise<string | null> {
  return realpath(path).catch(() => null);
}

async function folderNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) if (await isDir(join(dir, e.name))) out.push(e.name);
  return out.sort();
}

/**
 * The `profiles/` folders PROFILE is looked for in, in order: beside the manifests folder (the original's
 * `images/image-builder/{manifests,profiles}`), beside the manifests folder's parent (a site repository that
 * keeps `manifests/` one level down), then the bundled defaults' `profiles/` (beside `defaults/manifests`).
 */
export function profileCandidates(user: string | null, bundled: string): { user: string[]; bundled: string } {
  const mine: string[] = [];
  if (user) {
    const abs = resolve(user);
    mine.push(join(dirname(abs), 'profiles'), join(dirname(dirname(abs)), 'profiles'));
  }
  return { user: [...new Set(mine)], bundled: join(dirname(resolve(bundled)), 'profiles') };
}

/**
 * The overlay folder `profiles/<name>/manifests` of PROFILE: the user's, else the tool's own for DISTRO.
 * @returns the folder, or the diagnostics saying why there is none (bad name, not found, found twice).
 */
export async function locateProfile(
  name: string,
  user: string | null,
  bundled: string,
  distro: string,
): Promise<{ dir?: string; diagnostics: Diagnostic[] }> {
  const where = '(--profile, environment variable PROFILE)';
  if (!FOLDER_NAME.test(name)) {
    return {
      diagnostics: [
        problem(
          where,
          'PROFILE',
          `"${name}" is not a profile name: expected a folder name of profiles/ (letters, digits, ".", "_", "-"; no "/")`,
        ),
      ],
    };
  }
  const c = profileCandidates(user, bundled);
  const found: { dir: string; real: string }[] = [];
  for (const profiles of c.user) {
    const dir = join(profiles, name, 'manifests');
    const r = (await isDir(dir)) ? await real(dir) : null;
    if (r && !found.some((f) => f.real === r)) found.push({ dir, real: r });
  }
  if (found.length > 1) {
    return {
      diagnostics: [
        problem(
          found[0]!.dir,
          'PROFILE',
          `profile "${name}" is ambiguous: found in ${found.map((f) => f.dir).join(' and ')}; keep one of them`,
        ),
      ],
    };
  }
  if (found.length === 1) return { dir: found[0]!.dir, diagnostics: [] };
  const ours = await bundledProfile(bundled, distro, name);
  if (ours) return { dir: ours, diagnostics: [] };
  const searched = [...c.user, c.bundled];
  const mine = [...new Set((await Promise.all(c.user.map(folderNames))).flat())].sort();
  const available = [...new Set([...mine, ...(await folderNames(c.bundled))])].sort();
  // The user's own names first: a typo of a site's profile is likelier than of one of ours.
  const hint = suggestion(name, mine) || suggestion(name, available);
  return {
    diagnostics: [
      problem(
        join(searched[0]!, name, 'manifests'),
        'PROFILE',
        `profile "${name}" not found${hint} in ${searched.join(', ')}; available: ${available.join(', ') || '(none)'}`,
      ),
    ],
  };
}

/**
 * A bundle folder as a path relative to the manifests folder (the form every layer is read with).
 * QCOW_BUNDLE without a slash, and every QCOW_BUNDLE_DIRS item, name a folder of the manifests folder;
 * QCOW_BUNDLE with a slash is a path (from the current folder, or absolute), as the original's
 * `${WORKDIR}/qcow-bundle` is, and must lead into the manifests folder. A folder that is a symlink out of
 * the manifests folder is refused either way.
 */
export async function resolveBundleFolder(
  raw: string,
  key: 'QCOW_BUNDLE' | 'QCOW_BUNDLE_DIRS',
  user: string | null,
): Promise<{ rel?: string; diagnostics: Diagnostic[] }> {
  const where = `(--${key.toLowerCase().replace(/_/g, '-')}, environment variable ${key})`;
  const asPath = key === 'QCOW_BUNDLE' && raw.includes('/');
  if (!asPath) {
    const parts = raw.split('/');
    if (!parts.every((p) => FOLDER_NAME.test(p)))
      return {
        diagnostics: [
          problem(where, key, `"${raw}" is not a bundle folder name (letters, digits, ".", "_", "-")`),
        ],
      };
    if (user) {
      const inside = await confined(join(user, raw), user);
      if (inside === false)
        return {
          diagnostics: [
            problem(
              join(user, raw),
              key,
              'leads out of the manifests folder (a symlink); expected a bundle folder inside it',
            ),
          ],
        };
    }
    return { rel: parts.join('/'), diagnostics: [] };
  }
  if (!user)
    return {
      diagnostics: [
        problem(
          where,
          key,
          `"${raw}" is a path, which needs WORKDIR: a bundle folder must be inside the manifests folder`,
        ),
      ],
    };
  const abs = resolve(raw);
  const [r, root] = [await real(abs), await real(user)];
  if (!r || !(await isDir(abs)))
    return { diagnostics: [problem(abs, key, 'the bundle folder does not exist (or is not a folder)')] };
  const rel = root ? relative(root, r) : '';
  if (!root || rel === '' || rel.startsWith('..') || isAbsolute(rel))
    return {
      diagnostics: [
        problem(
          abs,
          key,
          `is outside the manifests folder ${resolve(user)}; expected a bundle folder inside it`,
        ),
      ],
    };
  const parts = rel.split(sep);
  if (!parts.every((p) => FOLDER_NAME.test(p)))
    return {
      diagnostics: [
        problem(abs, key, `"${rel}" is not a bundle folder name (letters, digits, ".", "_", "-")`),
      ],
    };
  return { rel: parts.join('/'), diagnostics: [] };
}

/** True when `path` (if it exists) resolves inside `root`; undefined when it does not exist. */
async function confined(path: string, root: string): Promise<boolean | undefined> {
  const r = await real(path);
  if (!r) return undefined;
  const base = await real(root);
  if (!base) return undefined;
  const rel = relative(base, r);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * The `qcow-bundle*` folders of a manifests folder, sorted: what the original's `package_qcow` packages when
 * QCOW_BUNDLE_DIRS is empty.
 */
export async function listBundleFolders(manifests: string): Promise<string[]> {
  return (await folderNames(manifests)).filter((n) => n.startsWith('qcow-bundle') && FOLDER_NAME.test(n));
}
