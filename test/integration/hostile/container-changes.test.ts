/**
 * An osconfig container's changes read from two listings by the image's own find (engine/container-diff),
 * with real Docker, Ansible and GNU tar: they name what `docker diff` names (plus folders an overlay copy-up
 * touched); an image whose find prints no such listing falls back to `docker diff`; a find that lies about a
 * deleted path out of the tree gets the layer refused before anything is removed, the host untouched; one that
 * prints without end is cut off at the listing limit and falls back too; a later container of a batch takes only
 * Docker's init-layer paths from its own small listing, whatever else its find prints there. Ansible
 * starts while the container is made: when that fails, Docker's error is the one reported and Ansible stops.
 * A container gets a network only when its run has user scripts in its run context (or URLs to fetch).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changesSince,
  containerChanges,
  statusSnapshot,
  statusSnapshotFrom,
} from '../../../src/engine/container-diff.js';
import { containersLabelled } from '../../../src/engine/container-io.js';
import { createContainer, removeContainer, SESSION_LABEL } from '../../../src/engine/docker.js';
import { applyLayer } from '../../../src/stages/layer.js';
import { osconfigLayer, osconfigLayers } from '../../../src/stages/osconfig.js';
import { builtImage } from '../../helpers/built-image.js';
import { CANARY_FOLDER, plantCanary } from '../../helpers/canary.js';
import { docker, variantsIn } from '../../helpers/image-variant.js';
import { osconfig } from '../cut/fixture-config.js';

const work = mkdtempSync('/var/tmp/container-changes-');
const SESSION = `p${process.pid}-changes-test`;
const variants = variantsIn('localhost/aib-container-changes/image');
let base = '';

/** The test image plus `setup` (run as root in a container of it), committed under a test tag. */
const variant = (tag: string, setup: string) => variants.make(base, tag, setup);

/** The image's find replaced by a script: `body` (sh) runs with the real one at /usr/bin/find.real. */
const wrapFind = (body: string) =>
  `mv /usr/bin/find /usr/bin/find.real\ncat > /usr/bin/find <<'EOF'\n#!/bin/sh\n${body}\nEOF\nchmod 0755 /usr/bin/find`;

/** Our qcow osconfig pass over `image`, its layer in a new folder. */
async function layerOf(image: string) {
  const dir = mkdtempSync(join(work, 'layer-'));
  return osconfigLayer(
    {
      image,
      vars: { ...osconfig(), banners: { login: '', motd: 'changes test\n' } },
      runContext: 'qcow',
      session: SESSION,
      logFile: join(dir, 'ansible.log'),
    },
    join(dir, 'layer'),
  );
}

const tarNames = (tars: string[]) =>
  tars.flatMap((t) => execFileSync('tar', ['-t', '-f', t], { encoding: 'utf8' }).split('\n').filter(Boolean));

/** The image's find gives no listing (a null snapshot), and the layer still comes, from docker diff. */
async function expectDockerDiffFallback(ref: string, tag: string): Promise<void> {
  const c = await createContainer(ref, {
    session: SESSION,
    name: `aib-changes-${tag}-${process.pid}`,
    start: true,
    network: false,
  });
  try {
    expect(await statusSnapshot(c.id)).toBeNull();
  } finally {
    await removeContainer(c.id);
  }
  const layer = await layerOf(ref);
  expect(tarNames(layer.tars)).toEqual(expect.arrayContaining(['etc/update-motd.d/05-airship']));
}

beforeAll(async () => {
  base = (await builtImage()).imageRef;
}, 3_600_000);

afterAll(async () => {
  variants.removeAll();
  rmSync(work, { recursive: true, force: true });
  expect(await containersLabelled(SESSION_LABEL, SESSION)).toEqual([]);
});

describe('one ansible-playbook for several containers', () => {
  it('gives each its own variables and layer, and a task failed in one fails that run alone', async () => {
    const dir = mkdtempSync(join(work, 'layers-'));
    const input = (motd: string, script?: string) => ({
      image: base,
      vars: {
        ...osconfig(),
        banners: { login: '', motd },
        user_scripts: script ? [{ file_content: script, run_contexts: ['qcow' as const] }] : [],
      },
      runContext: 'qcow' as const,
      session: SESSION,
      logFile: join(dir, 'ansible.log'),
    });
    // Each result is handed over before the containers are removed; the call returns only after.
    const early: { index: number; status: string; containers: number }[] = [];
    const [one, two, bad] = await osconfigLayers(
      [
        { input: input('motd one\n'), out: join(dir, 'one') },
        { input: input('motd two\n'), out: join(dir, 'two') },
        {
          input: input('motd bad\n', '#!/bin/sh\necho broken on purpose >&2\nexit 3\n'),
          out: join(dir, 'bad'),
        },
      ],
      (index, r) => {
        early.push({ index, status: r.status, containers: -1 });
        void containersLabelled(SESSION_LABEL, SESSION).then((cs) => {
          (early.find((e) => e.index === index) as (typeof early)[number]).containers = cs.length;
        });
      },
    );
    expect(early.map((e) => [e.index, e.status]).sort()).toEqual([
      [0, 'fulfilled'],
      [1, 'fulfilled'],
      [2, 'rejected'],
    ]);
    // The first result came while its container (and the others) still existed.
    expect(Math.max(...early.map((e) => e.containers))).toBeGreaterThan(0);
    const motdOf = (r: typeof one) => {
      if (r?.status !== 'fulfilled') throw new Error(`no layer: ${r?.status === 'rejected' ? r.reason : ''}`);
      const tar = r.value.tars.find((t) => tarNames([t]).includes('etc/update-motd.d/05-airship')) as string;
      return execFileSync('tar', ['-x', '-O', '-f', tar, 'etc/update-motd.d/05-airship'], {
        encoding: 'utf8',
      });
    };
    expect(motdOf(one)).toContain('motd one');
    expect(motdOf(two)).toContain('motd two');
    // The second container's listing came from the first's: its layer names what a run of its own names.
    const alone = await osconfigLayer(input('motd two\n'), join(dir, 'alone'));
    const names = (r: typeof two) => (r?.status === 'fulfilled' ? tarNames(r.value.tars).sort() : []);
    expect(names(two)).toEqual(tarNames(alone.tars).sort());
    expect(bad?.status).toBe('rejected');
    expect(String(bad?.status === 'rejected' && bad.reason)).toMatch(/Run user scripts.*broken on purpose/s);
    expect(await containersLabelled(SESSION_LABEL, SESSION)).toEqual([]);
  });
});

describe('the listing of a second container of one image', () => {
  it("is the first's with Docker's init-layer paths listed anew: the same as its own whole listing", async () => {
    const make = (n: number) =>
      createContainer(base, {
        session: SESSION,
        name: `aib-listing-${n}-${process.pid}`,
        start: true,
        network: false,
      });
    const one = await make(1);
    try {
      // A second apart, so that the init layers' ctimes differ.
      await new Promise((go) => setTimeout(go, 1100));
      const two = await make(2);
      try {
        const first = await statusSnapshot(one.id);
        const own = await statusSnapshot(two.id);
        if (!first || !own) throw new Error('no listing');
        expect(first.get('/etc')).not.toBe(own.get('/etc'));
        const shared = await statusSnapshotFrom(two.id, first);
        expect(shared && [...shared].sort()).toEqual([...own].sort());
      } finally {
        await removeContainer(two.id);
      }
    } finally {
      await removeContainer(one.id);
    }
  });
});

describe('the network of an osconfig container', () => {
  it('is there for a run with user scripts in its run context, and not for one without', async () => {
    const dir = mkdtempSync(join(work, 'network-'));
    const sessions = [`${SESSION}-quiet`, `${SESSION}-net`];
    const script = '#!/bin/sh\nls /sys/class/net > /etc/aib-net\n';
    const input = (session: string, context: 'common' | 'qcow') => ({
      image: base,
      vars: { ...osconfig(), user_scripts: [{ file_content: script, run_contexts: [context] }] },
      runContext: 'qcow' as const,
      session,
      logFile: join(dir, 'ansible.log'),
    });
    const modes: string[] = [];
    const [quiet, net] = await osconfigLayers(
      [
        { input: input(sessions[0] as string, 'common'), out: join(dir, 'quiet') },
        { input: input(sessions[1] as string, 'qcow'), out: join(dir, 'net') },
      ],
      // Synchronous: the containers are removed only after this returns.
      (index) => {
        const id = docker(['ps', '-aq', '--filter', `label=${SESSION_LABEL}=${sessions[index]}`]).trim();
        modes[index] = docker([
          'inspect',
          '-f',
          '{{.HostConfig.NetworkMode}} {{.Config.NetworkDisabled}}',
          id,
        ]);
      },
    );
    expect(modes.map((m) => m.trim())).toEqual(['none true', 'bridge false']);
    expect([quiet?.status, net?.status]).toEqual(['fulfilled', 'fulfilled']);
    const namesOf = (r: typeof quiet) => (r?.status === 'fulfilled' ? tarNames(r.value.tars) : []);
    expect(namesOf(quiet)).not.toContain('etc/aib-net');
    const tar =
      net?.status === 'fulfilled' ? net.value.tars.find((t) => tarNames([t]).includes('etc/aib-net')) : '';
    const seen = execFileSync('tar', ['-x', '-O', '-f', tar as string, 'etc/aib-net'], { encoding: 'utf8' });
    expect(seen.split('\n')).toEqual(expect.arrayContaining(['lo', 'eth0']));
    for (const s of sessions) expect(await containersLabelled(SESSION_LABEL, s)).toEqual([]);
  }, 300_000);
});

describe('changes of an osconfig container', () => {
  it.each([false, true])(
    'names what docker diff names, and at most folders an overlay copy-up touched besides (network: %s)',
    async (network) => {
      const c = await createContainer(base, {
        session: SESSION,
        name: `aib-changes-${network ? 'net' : 'nonet'}-${process.pid}`,
        start: true,
        network,
      });
      try {
        const links = docker(['exec', c.id, 'ls', '/sys/class/net']).split('\n');
        expect(links.includes('eth0')).toBe(network);
        const before = await statusSnapshot(c.id);
        expect(before?.size).toBeGreaterThan(1000);
        docker([
          'exec',
          c.id,
          'sh',
          '-c',
          [
            'echo new > /etc/aib-new',
            'echo more >> /etc/issue',
            'chmod 0600 /etc/debian_version',
            'rm -rf /var/lib/apt/lists',
            'rm /etc/shells',
            'mkdir -p /opt/aib/deep && ln /etc/aib-new /opt/aib/deep/link',
            'rm -rf /usr/share/doc/bash && echo file > /usr/share/doc/bash',
          ].join(' && '),
        ]);
        const ours = await changesSince(c.id, before ?? new Map());
        const theirs = await containerChanges(c.id);
        expect(ours).not.toBeNull();
        const key = (x: { path: string; kind: string }) => `${x.kind} ${x.path}`;
        const mine = ours ?? [];
        const ourKeys = new Set(mine.map(key));
        // Every path Docker reports, reported by us too, deleted ones as deleted.
        for (const t of theirs)
          if (t.kind === 'deleted') expect(ourKeys).toContain(key(t));
          else expect(ourKeys.has(`modified ${t.path}`) || ourKeys.has(`added ${t.path}`)).toBe(true);
        expect([...ourKeys]).toEqual(
          expect.arrayContaining([
            'added /etc/aib-new',
            'modified /etc/issue',
            'modified /etc/debian_version',
            'deleted /var/lib/apt/lists',
            'deleted /etc/shells',
            'added /opt/aib/deep/link',
            'modified /usr/share/doc/bash',
            // A folder replaced by a file: Docker names only the file, so its old entries would stay in a tree the
            // layer is applied to.
            'deleted /usr/share/doc/bash/copyright',
          ]),
        );
        // Anything more is a folder the overlay copied up (its metadata unchanged), or an entry of a folder that
        // became something else.
        const replaced = mine.filter((x) => x.kind === 'modified' && x.path === '/usr/share/doc/bash');
        expect(replaced).toHaveLength(1);
        for (const x of mine.filter((m) => !theirs.some((t) => t.path === m.path)))
          if (x.kind === 'deleted') expect(x.path.startsWith('/usr/share/doc/bash/')).toBe(true);
          else docker(['exec', c.id, 'test', '-d', x.path]);
      } finally {
        await removeContainer(c.id);
      }
    },
    120_000,
  );

  it("names Docker's failure when the container cannot be made, with Ansible already started and stopped", async () => {
    const t0 = Date.now();
    await expect(layerOf(`localhost/aib-container-changes/missing:none-${process.pid}`)).rejects.toThrow(
      /docker: create a container from localhost\/aib-container-changes\/missing/,
    );
    // Ansible waits for its variables: stopped at once, not left to time out.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(spawnSync('pgrep', ['-f', `aib-osconfig-${SESSION}`]).status).toBe(1);
  }, 60_000);

  it("falls back to docker diff when the image's find prints no such listing", async () => {
    await expectDockerDiffFallback(
      variant('no-printf', wrapFind('echo "find: unknown predicate -printf" >&2; exit 1')),
      'np',
    );
  }, 300_000);

  it('drops the listing of a find that prints without end, and reads the layer from docker diff', async () => {
    await expectDockerDiffFallback(
      variant('endless-find', wrapFind(`yes '1 /endless' | tr '\\n' '\\000'`)),
      'yes',
    );
  }, 300_000);

  it.each([
    ['adds paths to', 'extra-init', `printf '1 /usr\\0'; exec /usr/bin/find.real "$@"`],
    ['prints without end in', 'endless-init', `yes '1 /endless' | tr '\\n' '\\000'; exit 0`],
  ])(
    "takes only Docker's init-layer paths from a find that %s a later container's small listing",
    async (_what, tag, small) => {
      // Only the small listing (the one with -maxdepth) is touched; whole listings are the real find's.
      const ref = variant(
        tag,
        wrapFind(`case "$*" in *-maxdepth*) ${small};; esac\nexec /usr/bin/find.real "$@"`),
      );
      const dir = mkdtempSync(join(work, `${tag}-`));
      const input = (motd: string) => ({
        image: ref,
        vars: { ...osconfig(), banners: { login: '', motd } },
        runContext: 'qcow' as const,
        session: SESSION,
        logFile: join(dir, 'ansible.log'),
      });
      const [, two] = await osconfigLayers([
        { input: input('first\n'), out: join(dir, 'one') },
        { input: input('second\n'), out: join(dir, 'two') },
      ]);
      const alone = await osconfigLayer(input('second\n'), join(dir, 'alone'));
      if (two?.status !== 'fulfilled')
        throw new Error(`no layer: ${two?.status === 'rejected' ? two.reason : ''}`);
      expect(tarNames(two.value.tars).sort()).toEqual(tarNames(alone.tars).sort());
      expect(two.value.deleted.sort()).toEqual(alone.deleted.sort());
    },
    300_000,
  );

  it('refuses a layer whose find claims a path out of the tree was deleted; the host stays untouched', async () => {
    // The first listing (before the role) names the host canary through '..'; the second does not.
    const evil = `/../../../..${CANARY_FOLDER}`;
    const ref = variant(
      'lying-find',
      wrapFind(
        `if [ ! -e /run/aib-listed ]; then : > /run/aib-listed; printf '1 ${evil}\\0'; fi\nexec /usr/bin/find.real "$@"`,
      ),
    );
    const canary = plantCanary();
    const layer = await layerOf(ref);
    expect(layer.deleted).toContain(evil);
    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    writeFileSync(join(tree, 'etc/issue'), 'base\n');
    const state = join(work, 'state');
    writeFileSync(state, '');
    await expect(applyLayer(tree, layer, { stateFile: state, excluded: [] })).rejects.toThrow(
      /deleted path .*\.\./,
    );
    canary.check();
  }, 300_000);
});
