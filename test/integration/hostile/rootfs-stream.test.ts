/**
 * The image's root for QCOW cuts, streamed by the image's own tar through a FIFO (engine/rootfs-stream), with
 * real Docker and GNU tar: the tree equals what `docker export` unpacks (read here with the docker CLI and tar)
 * but for Docker's own placeholders; an image whose tar is missing, never opens the FIFO, or streams a link to
 * a host folder with an entry below it falls back to the export with a note, leaves the host untouched and no
 * container behind; an abort stops the stream and leaves nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUT_LABEL, containersLabelled } from '../../../src/engine/container-io.js';
import { ETC_HOSTNAME, ETC_HOSTS } from '../../../src/stages/etc-files.js';
import { extractRootfs } from '../../../src/stages/qcow.js';
import { builtImage } from '../../helpers/built-image.js';
import { CANARY_DIR, CANARY_FILE, CANARY_FOLDER, plantCanary } from '../../helpers/canary.js';
import { docker, variantsIn } from '../../helpers/image-variant.js';

const work = mkdtempSync('/var/tmp/rootfs-stream-');
const LABELS = { [CUT_LABEL]: 'rootfs-stream-test' };
const variants = variantsIn('localhost/aib-rootfs-stream/image');
let base = '';

/** The test image plus `setup` (run as root in a container of it), committed under a test tag. */
const variant = (tag: string, setup: string) => variants.make(base, tag, setup);

/** A version 2 file capability: cap_net_raw permitted. */
const NET_RAW = '0100000200200000000000000000000000000000';

/** Every file with a file capability, and the capability's bytes (hex). */
const CAPS = `
import os
for d, dirs, files in sorted(os.walk('.')):
    dirs.sort()
    for f in sorted(files):
        p = os.path.join(d, f)
        try: print(p, os.getxattr(p, 'security.capability', follow_symlinks=False).hex())
        except OSError: pass
`;

/** Type, mode, owner, size (not of folders), whole-second mtime and link target of every entry; capabilities. */
function listing(tree: string): Map<string, string> {
  const out = execFileSync('find', ['.', '-printf', '%p %y %m %U %G %s %Ts %n %l\\n'], {
    cwd: tree,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const caps = execFileSync('python3', ['-c', CAPS], { cwd: tree, encoding: 'utf8' });
  const m = new Map<string, string>();
  for (const line of out.split('\n').filter(Boolean)) {
    // A folder's size is its file system's bookkeeping, not the image's.
    const f = line.split(' ');
    if (f[1] === 'd') f[5] = '-';
    m.set(f[0] ?? '', f.join(' '));
  }
  m.set('capabilities', caps);
  return m;
}

/** An extraction into a new folder, with its notes. */
async function extract(
  ref: string,
  signal?: AbortSignal,
): Promise<{ tree: string; dir: string; notes: string[] }> {
  const dir = mkdtempSync(join(work, 'x-'));
  const notes: string[] = [];
  const { tree } = await extractRootfs(ref, dir, {
    labels: LABELS,
    onNote: (m) => notes.push(m),
    ...(signal ? { signal } : {}),
  });
  return { tree, dir, notes };
}

beforeAll(async () => {
  base = (await builtImage()).imageRef;
}, 3_600_000);

afterAll(async () => {
  variants.removeAll();
  rmSync(work, { recursive: true, force: true });
  expect(await containersLabelled(CUT_LABEL, 'rootfs-stream-test')).toEqual([]);
});

describe('extractRootfs', () => {
  it("streams the image's tree as docker export has it, Docker's placeholders put back as the image had them", async () => {
    // A file capability (ping's cap_net_raw) and a hard link to it, which the test image has none of.
    const ref = variant(
      'caps',
      [
        'printf x > /usr/local/bin/capped',
        `python3 -c "import os; os.setxattr('/usr/local/bin/capped', 'security.capability', bytes.fromhex('${NET_RAW}'))"`,
        'ln /usr/local/bin/capped /usr/local/bin/capped-link',
      ].join(' && '),
    );
    const { tree, dir, notes } = await extract(ref);
    expect(notes).toEqual([]);
    // Only the tree and the fakeroot state are left: the FIFO's folder is gone.
    expect(readdirSync(dir).sort()).toEqual(['fakeroot.state', 'tree']);
    const exported = join(work, 'exported');
    const id = docker(['create', ref, '/bin/true']);
    try {
      execFileSync('sh', [
        '-c',
        `mkdir ${exported} && docker export ${id} | tar -x -C ${exported} --numeric-owner --xattrs --xattrs-include='*'`,
      ]);
    } finally {
      docker(['rm', '-f', id]);
    }
    const ours = listing(tree);
    const theirs = listing(exported);
    // Docker's: its marker, its placeholders in /dev and /etc, and the times of what it touched making them.
    const dockers = /^\.\/(\.dockerenv|dev\/.*|etc\/(hosts|hostname|resolv\.conf|mtab))$/;
    const touched = new Set(['.', './dev', './etc', './proc', './sys']);
    let compared = 0;
    for (const [path, line] of theirs) {
      if (dockers.test(path) || path === './livecd' || path.startsWith('./livecd/')) continue;
      const mine = ours.get(path);
      if (touched.has(path)) expect(mine?.split(' ').slice(0, 6), path).toEqual(line.split(' ').slice(0, 6));
      else expect(mine, path).toBe(line);
      compared++;
    }
    expect(compared).toBeGreaterThan(10_000);
    expect(ours.get('capabilities')).toBe(
      `./usr/local/bin/capped ${NET_RAW}\n./usr/local/bin/capped-link ${NET_RAW}\n`,
    );
    expect(ours.get('./usr/local/bin/capped')).toMatch(/ 2 $/);
    expect([...ours.keys()].filter((p) => p.startsWith('./livecd') || p === './.dockerenv')).toEqual([]);
    expect(readdirSync(join(tree, 'dev'))).toEqual([]);
    expect(readFileSync(join(tree, 'etc/hosts'), 'utf8')).toBe(ETC_HOSTS);
    expect(readFileSync(join(tree, 'etc/hostname'), 'utf8')).toBe(ETC_HOSTNAME);
    expect(existsSync(join(tree, 'etc/resolv.conf'))).toBe(false);
  }, 600_000);

  it.each([
    ['has no tar', 'rm /usr/bin/tar', /no stream of its files \(.*tar.*\)/],
    [
      'has a tar that never opens the FIFO',
      `printf '#!/bin/sh\\nexit 0\\n' > /usr/bin/tar && chmod 755 /usr/bin/tar`,
      /does not look like a tar archive/,
    ],
  ])(
    'an image that %s is exported through Docker instead',
    async (tag, setup, why) => {
      const ref = variant(tag.replaceAll(' ', '-'), setup);
      const { tree, notes } = await extract(ref);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(why);
      expect(notes[0]).toContain('exported through Docker');
      expect(readdirSync(join(tree, 'boot')).some((n) => n.startsWith('vmlinuz-'))).toBe(true);
      expect(readdirSync(join(tree, 'dev'))).toEqual([]);
      expect(readFileSync(join(tree, 'etc/hosts'), 'utf8')).toBe(ETC_HOSTS);
      expect(existsSync(join(tree, 'livecd'))).toBe(false);
    },
    600_000,
  );

  it('a stream with a link to a host folder and an entry below it writes nothing on the host', async () => {
    const ref = variant(
      'hostile',
      [
        'mkdir -p /var/lib/aib-evil/hostile',
        `ln -s ${CANARY_FOLDER} /var/lib/aib-evil/link`,
        'echo planted > /var/lib/aib-evil/hostile/planted',
        'mv /usr/bin/tar /usr/bin/tar.real',
        `printf '#!/bin/sh\\nexec /usr/bin/tar.real "$@" -C /var/lib/aib-evil --transform=s,^hostile,link, link hostile/planted\\n' > /usr/bin/tar`,
        'chmod 755 /usr/bin/tar',
      ].join(' && '),
    );
    const canary = plantCanary();
    const { tree, notes } = await extract(ref);
    expect(readdirSync(CANARY_FOLDER)).toEqual(['keep.txt']);
    expect(readdirSync(CANARY_DIR).sort()).toEqual(['canary.txt', 'victim']);
    expect(readFileSync(CANARY_FILE, 'utf8')).toContain('canary');
    canary.check();
    // GNU tar makes the link a placeholder until the end, so the entry below it fails: the export is used.
    expect(notes.join('\n')).toMatch(/no stream of its files .*exported through Docker/);
    expect(existsSync(join(tree, 'link'))).toBe(false);
  }, 600_000);

  it('an abort stops the stream and leaves no container and no FIFO', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('test abort')), 400);
    const dir = mkdtempSync(join(work, 'abort-'));
    await expect(extractRootfs(base, dir, { labels: LABELS, signal: ac.signal })).rejects.toThrow(/abort/);
    expect(existsSync(join(dir, 'stream'))).toBe(false);
    expect(await containersLabelled(CUT_LABEL, 'rootfs-stream-test')).toEqual([]);
  }, 120_000);
});
