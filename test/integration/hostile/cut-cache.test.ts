/**
 * The cut cache read back as hostile input, through the CLI: after one real QCOW cut fills
 * `<IMAGE_BUILDER_CACHE>/cut-cache`, its tree and osconfig layer entries are replaced by planted ones (a symlink
 * out of the cache, a layer tar whose entries climb out or go through a symlink the layer makes, meta naming
 * files outside the entry, deleted paths outside the tree). Each re-cut exits 1 naming the entry or the layer
 * entry, writes no QCOW2 and touches nothing on the host (canary). `clean` drops the reference's entries.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtImage, TEST_MANIFESTS } from '../../helpers/built-image.js';
import { CANARY_DIR, CANARY_FOLDER, plantCanary } from '../../helpers/canary.js';
import { runCli } from '../../helpers/cli.js';

const REF = `localhost/airship-test/image-builder:cachecut${process.pid}-debian_bookworm`;
const work = mkdtempSync('/var/tmp/aib-hostile-cut-cache-');
const cacheDir = join(work, 'cache');
const env = {
  IMAGE_BUILDER_CACHE: cacheDir,
  // The planted entries are in the cache folder: the cut must not work in memory.
  CUT_DIR: cacheDir,
  WORKDIR: TEST_MANIFESTS,
  DOCKER_REGISTRY: 'localhost',
  IMAGE_PREFIX: 'airship-test',
  IMAGE_TAG: `cachecut${process.pid}`,
  DISTRO: 'debian_bookworm',
  IMAGE_TYPE: 'qcow',
  QCOW_NAMES: 'control-plane',
  BOOT_TIMEOUT: '0',
};
let treeEntry = '';
let layerEntry = '';

/** The single entry the first cut made under `cut-cache/<kind>`. */
function only(kind: 'trees' | 'layers'): string {
  const names = readdirSync(join(cacheDir, 'cut-cache', kind));
  expect(names).toHaveLength(1);
  return join(cacheDir, 'cut-cache', kind, names[0] ?? '');
}

function cut(out: string) {
  return runCli(['cut-image'], { ...env, OUT_DIR: out });
}

beforeAll(async () => {
  const { imageId } = await builtImage();
  execFileSync('docker', ['tag', imageId, REF]);
  const first = cut(join(work, 'first'));
  expect(first.status, first.stderr).toBe(0);
  treeEntry = only('trees');
  layerEntry = only('layers');
  // Kept to put the layer back after each case.
  cpSync(layerEntry, join(work, 'layer-saved'), { recursive: true });
}, 3_600_000);
afterAll(() => {
  spawnSync('docker', ['rmi', REF]);
  rmSync(work, { recursive: true, force: true });
});

/** Writes a tar with python's tarfile: `entries` as [name, 'file' | 'symlink', content or link target]. */
function hostileTar(file: string, entries: [string, 'file' | 'symlink', string][]): void {
  const script = `
import io, json, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT) as t:
    for name, kind, data in json.loads(sys.argv[2]):
        i = tarfile.TarInfo(name)
        if kind == 'symlink':
            i.type = tarfile.SYMTYPE
            i.linkname = data
            t.addfile(i)
        else:
            b = data.encode()
            i.size = len(b)
            t.addfile(i, io.BytesIO(b))
`;
  execFileSync('python3', ['-c', script, file, JSON.stringify(entries)]);
}

function setMeta(change: (meta: Record<string, unknown>) => void): void {
  const file = join(layerEntry, 'meta.json');
  const meta = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(meta);
  writeFileSync(file, JSON.stringify(meta));
}

const cases: [string, () => void, () => string][] = [
  [
    'the tree entry is a symlink to a host folder',
    () => {
      renameSync(treeEntry, join(work, 'tree-saved'));
      symlinkSync(CANARY_FOLDER, treeEntry);
    },
    () => `${treeEntry} is a symlink; refused`,
  ],
  [
    "the tree entry's tree is a symlink to the host's /",
    () => {
      renameSync(join(treeEntry, 'tree'), join(work, 'tree-inner-saved'));
      symlinkSync('/', join(treeEntry, 'tree'));
    },
    () => `${treeEntry} has a tree that is a symlink; refused`,
  ],
  [
    'a layer tar entry climbs out of the tree',
    () =>
      hostileTar(join(layerEntry, 'layer-0.tar'), [['../../../../tmp/aib-canary/canary.txt', 'file', 'x']]),
    () => 'osconfig layer: entry "../../../../tmp/aib-canary/canary.txt"',
  ],
  [
    'a layer tar writes through a symlink it makes',
    () =>
      hostileTar(join(layerEntry, 'layer-0.tar'), [
        ['lnk', 'symlink', CANARY_DIR],
        ['lnk/canary.txt', 'file', 'x'],
      ]),
    () => 'osconfig layer: entry /lnk/canary.txt lies below /lnk, which the layer made a symlink',
  ],
  [
    "the layer's meta names a tar outside the entry",
    () => setMeta((m) => (m.tars = ['../../../../../tmp/aib-canary/canary.txt'])),
    () => `${layerEntry} has a tar "../../../../../tmp/aib-canary/canary.txt" that is not named layer-N.tar`,
  ],
  [
    "the layer's meta deletes a path outside the tree",
    () => setMeta((m) => (m.deleted = ['/../../../../tmp/aib-canary/victim'])),
    () => 'osconfig layer: deleted path "/../../../../tmp/aib-canary/victim"',
  ],
];

describe('hostile cut cache (cut-image --type qcow)', () => {
  it.each(cases)(
    '%s: exit 1 naming it, no QCOW2, host untouched',
    (_what, plant, message) => {
      const canary = plantCanary();
      plant();
      try {
        const out = join(work, 'out');
        const r = cut(out);
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toContain(message());
        expect(existsSync(join(out, 'control-plane.qcow2'))).toBe(false);
        canary.check();
      } finally {
        // Put the real entries back for the next case.
        if (existsSync(join(work, 'tree-saved'))) {
          rmSync(treeEntry, { force: true });
          renameSync(join(work, 'tree-saved'), treeEntry);
        }
        if (existsSync(join(work, 'tree-inner-saved'))) {
          rmSync(join(treeEntry, 'tree'), { force: true });
          renameSync(join(work, 'tree-inner-saved'), join(treeEntry, 'tree'));
        }
        rmSync(layerEntry, { recursive: true, force: true });
        cpSync(join(work, 'layer-saved'), layerEntry, { recursive: true });
      }
    },
    600_000,
  );

  it('a re-cut from the restored entries succeeds and reuses both', () => {
    const r = cut(join(work, 'again'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/extract.*reused/);
    expect(r.stderr).toContain('osconfig layer reused');
  }, 600_000);

  it("clean drops the image reference's cut cache entries", () => {
    expect(readdirSync(join(cacheDir, 'cut-cache', 'trees'))).toHaveLength(1);
    expect(readdirSync(join(cacheDir, 'cut-cache', 'layers'))).toHaveLength(1);
    const r = runCli(['clean'], { ...env, OUT_DIR: join(work, 'again') });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(cacheDir, 'cut-cache', 'trees'))).toEqual([]);
    expect(readdirSync(join(cacheDir, 'cut-cache', 'layers'))).toEqual([]);
  }, 600_000);
});
