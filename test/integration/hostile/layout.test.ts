/**
 * Hostile layout variables: a QCOW_BUNDLE path outside the manifests tree or a bundle folder that is a
 * symlink out of it, a QCOW_BUNDLE_DIRS list with `..` or an absolute path, a PROFILE with slashes. Each is
 * refused with exit 2 naming the variable (and the path) before anything is read or removed, by
 * `config validate`, `cut-image`, `package-qcow` and `clean` (the one that deletes files) alike; the host
 * canary, which the values aim at, is untouched.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_DIR, plantCanary } from '../../helpers/canary.js';
import { runCli } from '../../helpers/cli.js';

let root: string;
let manifests: string;
let out: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'aib-hostile-layout-'));
  manifests = join(root, 'site', 'manifests');
  out = join(root, 'out');
  mkdirSync(join(manifests, 'qcow-bundle', 'control-plane'), { recursive: true });
  writeFileSync(join(manifests, 'qcow-bundle', 'control-plane', 'qcow-vars.yaml'), 'qcow_capacity: 19G\n');
  // A bundle folder that is a symlink to the host canary folder (which holds a sub-folder, `victim`).
  symlinkSync(CANARY_DIR, join(manifests, 'qcow-bundle-link'));
  // A bundle folder outside the manifests tree that looks like a real one.
  mkdirSync(join(root, 'elsewhere', 'victim'), { recursive: true });
  cpSync(join(manifests, 'qcow-bundle', 'control-plane'), join(root, 'elsewhere', 'victim'), {
    recursive: true,
  });
  mkdirSync(out, { recursive: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CASES: { name: string; env: () => Record<string, string>; expect: () => string[] }[] = [
  {
    name: 'QCOW_BUNDLE path to the host canary folder',
    env: () => ({ QCOW_BUNDLE: CANARY_DIR }),
    expect: () => [`${CANARY_DIR}: QCOW_BUNDLE: is outside the manifests folder`],
  },
  {
    name: 'QCOW_BUNDLE path with .. out of the manifests tree',
    env: () => ({ QCOW_BUNDLE: `${manifests}/../../elsewhere` }),
    expect: () => [`${join(root, 'elsewhere')}: QCOW_BUNDLE: is outside the manifests folder`],
  },
  {
    name: 'QCOW_BUNDLE naming a symlink out of the manifests tree',
    env: () => ({ QCOW_BUNDLE: 'qcow-bundle-link' }),
    expect: () => [`${join(manifests, 'qcow-bundle-link')}: QCOW_BUNDLE: leads out of the manifests folder`],
  },
  {
    name: 'QCOW_BUNDLE path through a symlink out of the manifests tree',
    env: () => ({ QCOW_BUNDLE: join(manifests, 'qcow-bundle-link') }),
    expect: () => [`${join(manifests, 'qcow-bundle-link')}: QCOW_BUNDLE: is outside the manifests folder`],
  },
  {
    name: 'QCOW_BUNDLE_DIRS with a symlink out of the manifests tree',
    env: () => ({ QCOW_BUNDLE_DIRS: 'qcow-bundle,qcow-bundle-link' }),
    expect: () => [
      `${join(manifests, 'qcow-bundle-link')}: QCOW_BUNDLE_DIRS: leads out of the manifests folder`,
    ],
  },
  {
    name: 'QCOW_BUNDLE_DIRS with ..',
    env: () => ({ QCOW_BUNDLE_DIRS: 'qcow-bundle ../../../tmp/aib-canary' }),
    expect: () => [
      'environment variable QCOW_BUNDLE_DIRS: expected bundle folders inside the manifests folder',
      '"../../../tmp/aib-canary"',
    ],
  },
  {
    name: 'QCOW_BUNDLE_DIRS with an absolute path',
    env: () => ({ QCOW_BUNDLE_DIRS: CANARY_DIR }),
    expect: () => ['environment variable QCOW_BUNDLE_DIRS: expected bundle folders', `"${CANARY_DIR}"`],
  },
  {
    name: 'PROFILE with slashes',
    env: () => ({ PROFILE: '../../../../tmp/aib-canary' }),
    expect: () => [
      'PROFILE: "../../../../tmp/aib-canary" is not a profile name: expected a folder name of profiles/',
    ],
  },
];

describe('hostile layout variables', () => {
  it.each(
    CASES.flatMap((c) =>
      (['config validate', 'cut-image --type qcow', 'package-qcow', 'clean'] as const).map((cmd) => ({
        ...c,
        cmd,
      })),
    ),
  )('$name: $cmd exits 2 naming it', ({ env, expect: texts, cmd }) => {
    const canary = plantCanary();
    const r = runCli(cmd.split(' '), {
      WORKDIR: manifests,
      OUT_DIR: out,
      IMAGE_BUILDER_CACHE: join(root, 'cache'),
      BOOT_TIMEOUT: '0',
      ...env(),
    });
    expect(r.status, r.stderr).toBe(2);
    for (const t of texts()) expect(r.stderr).toContain(t);
    canary.check();
  });
});
