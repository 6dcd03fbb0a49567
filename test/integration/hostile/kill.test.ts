/**
 * The kill test: `squash`, `build` and `cut-image` run as child processes of the CLI and are stopped with
 * SIGINT, SIGTERM or SIGKILL at several points (and `doctor`, `boot-test`, `package-qcow` with SIGINT once).
 * After SIGINT/SIGTERM: exit 130/143 with one line, no partial artifact, no temp file, no scratch folder, no
 * container or image of the run. After SIGKILL the leftovers carry the dead run's lease, and the next run
 * removes them (and nothing of a live run or another host). Reruns write the same bytes as an uninterrupted
 * run (SOURCE_DATE_EPOCH fixed) — squashfs, the live-CD squashfs and the ISO; two QCOW cuts of one image still
 * differ, so the QCOW rerun is checked with `qemu-img check` instead. The file prints the table of kill points.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_LABEL } from '../../../src/api.js';
import { findLease, type Lease, leaseTag, ownLease } from '../../../src/lease.js';
import { CutCache } from '../../../src/stages/cut-cache.js';
import { memoryCutRoot } from '../../../src/stages/cut-place.js';
import { builtImage, TEST_CACHE, TEST_MANIFESTS } from '../../helpers/built-image.js';

const MAIN = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
const EPOCH = '1700000000';
const work = mkdtempSync(join(tmpdir(), 'aib-kill-'));

type Sig = 'SIGINT' | 'SIGTERM' | 'SIGKILL';
const EXIT: Record<Sig, number | null> = { SIGINT: 130, SIGTERM: 143, SIGKILL: null };

/** The closing note's table: every kill point tried, and whether everything after it was clean. */
const tally: { command: string; point: string; signal: Sig; clean: boolean }[] = [];

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  const rows = tally.map(
    (t) => `  ${t.command.padEnd(9)} ${t.point.padEnd(34)} ${t.signal.padEnd(8)} ${t.clean}`,
  );
  const clean = tally.filter((t) => t.clean).length;
  process.stdout.write(
    `kill points tried / clean: ${tally.length} / ${clean}\n  command   point                              signal   clean\n${rows.join('\n')}\n`,
  );
});

interface Running {
  child: ChildProcess;
  output(): string;
  /** Resolves when a line of stdout or stderr matches `re`. */
  line(re: RegExp): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      SOURCE_DATE_EPOCH: EPOCH,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (b: Buffer) => {
    text += b.toString('utf8');
    for (const w of [...waiters])
      if (w.re.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => text,
    line: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(text)) return resolve();
        waiters.push({ re, resolve });
        void exit.then(() => reject(new Error(`exited before a line matched ${re}:\n${text}`)));
      }),
    exit,
  };
}

/** Runs to the end and expects success. */
async function runOk(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = start(args, env);
  const { code } = await r.exit;
  if (code !== 0) throw new Error(`image-builder ${args.join(' ')} exited ${code}:\n${r.output()}`);
  return r.output();
}

/**
 * Sends `sig` (`times` times, 5 ms apart) and checks how the process ended. A third signal exits without
 * waiting for the cleanup; the next run sweeps what that leaves.
 */
async function stop(r: Running, sig: Sig, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    if (i > 0) await new Promise((res) => setTimeout(res, 5));
    r.child.kill(sig);
  }
  const { code, signal } = await r.exit;
  if (sig === 'SIGKILL') expect(signal).toBe('SIGKILL');
  else {
    expect({ code, out: r.output() }).toMatchObject({ code: EXIT[sig] });
    // One line says how it ended; the error the abort caused is not printed.
    const last =
      times >= 3
        ? '(interrupted by \\S+; cleaned up|exiting without finishing cleanup; the next run removes what is left)'
        : `interrupted by ${sig}; cleaned up`;
    expect(r.output()).toMatch(new RegExp(`image-builder: ${last}\\n$`));
    expect(r.output()).not.toMatch(/stage failed|aborted|AbortError/);
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Entries of `dir` (recursively for the cache's sub-folders) that carry the lease of process `pid`. */
function leftoversOf(pid: number, dirs: string[]): string[] {
  const out: string[] = [];
  for (const d of dirs)
    for (const n of existsSync(d) ? readdirSync(d) : []) if (findLease(n)?.pid === pid) out.push(join(d, n));
  return out;
}

/** Containers and images (any, tagged or not) whose session label names process `pid`. */
function dockerOf(pid: number): string[] {
  const fmt = `{{.ID}} {{index .Labels "${SESSION_LABEL}"}}`;
  const ps = spawnSync('docker', ['ps', '-a', '--filter', `label=${SESSION_LABEL}`, '--format', fmt], {
    encoding: 'utf8',
  });
  const images = spawnSync(
    'docker',
    [
      'images',
      '-a',
      '--filter',
      `label=${SESSION_LABEL}`,
      '--filter',
      'dangling=true',
      '--format',
      '{{.ID}}',
    ],
    { encoding: 'utf8' },
  );
  const imageLabels = images.stdout
    .split('\n')
    .filter(Boolean)
    .map((id) => {
      const l = spawnSync(
        'docker',
        ['image', 'inspect', id, '--format', `{{index .Config.Labels "${SESSION_LABEL}"}}`],
        {
          encoding: 'utf8',
        },
      );
      return `${id} ${l.stdout.trim()}`;
    });
  return [...ps.stdout.split('\n'), ...imageLabels].filter((l) => findLease(l)?.pid === pid);
}

/** A lease nobody holds on this host's current boot cannot be faked; one of another host can. */
function otherHost(): Lease {
  const me = ownLease();
  return { ...me, host: me.host === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa', pid: 4242 };
}

describe('kill test: squash', () => {
  const src = join(work, 'tree');
  let ref = '';
  let refSize = 0;

  beforeAll(async () => {
    // About 75 MB of text in 200 files: gzip on one core takes a few seconds, long enough to stop at a point.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    const words = Array.from({ length: 5000 }, () =>
      Array.from({ length: 2 + (rnd() % 8) }, () => String.fromCharCode(97 + (rnd() % 26))).join(''),
    );
    for (let d = 0; d < 8; d++) {
      mkdirSync(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 25; f++)
        writeFileSync(
          join(src, `d${d}`, `f${f}.txt`),
          Array.from({ length: 60000 }, () => words[rnd() % words.length]).join(' '),
        );
    }
    mkdirSync(join(work, 'ref'));
    await runOk(['squash', src, join(work, 'ref', 'out.sqfs'), '--processors', '1']);
    ref = sha256(join(work, 'ref', 'out.sqfs'));
    refSize = statSync(join(work, 'ref', 'out.sqfs')).size;
  }, 300_000);

  /** Stops when the temp output beside `out` has reached `fraction` of the finished image's size. */
  async function tempReached(dir: string, fraction: number, r: Running): Promise<void> {
    let exited = false;
    void r.exit.then(() => {
      exited = true;
    });
    for (;;) {
      if (exited) throw new Error(`squash finished before its temp file reached ${fraction}:\n${r.output()}`);
      const tmp = readdirSync(dir).find((n) => n.startsWith('.out.sqfs.tmp-'));
      if (tmp) {
        const size = statSync(join(dir, tmp), { throwIfNoEntry: false })?.size ?? 0;
        if (size > 0 && size >= fraction * refSize) return;
      }
      await new Promise((res) => setTimeout(res, 2));
    }
  }

  it.each<[string, number, Sig, number]>([
    ['temp file created (scan, first blocks)', 0, 'SIGINT', 1],
    ['half the data written', 0.5, 'SIGINT', 1],
    ['last data blocks / tables', 0.9, 'SIGINT', 1],
    ['half the data written', 0.5, 'SIGTERM', 1],
    ['half the data written, sent twice', 0.5, 'SIGINT', 2],
    ['half the data written, sent 3 times', 0.5, 'SIGINT', 3],
    ['temp file created (scan, first blocks)', 0, 'SIGKILL', 1],
    ['half the data written', 0.5, 'SIGKILL', 1],
    ['last data blocks / tables', 0.9, 'SIGKILL', 1],
  ])(
    '%s (temp file at %s of the image size), %s x%s: no partial output, no temp file after the next run; rerun byte-identical',
    async (point, fraction, sig, times) => {
      const dir = mkdtempSync(join(work, 'squash-'));
      const out = join(dir, 'out.sqfs');
      const r = start(['squash', src, out, '--processors', '1']);
      await tempReached(dir, fraction, r);
      await stop(r, sig, times);
      const pid = r.child.pid ?? -1;
      // Never a partial image under the output's name: a signal that lands after the rename finds it complete.
      if (existsSync(out)) expect(sha256(out)).toBe(ref);
      const left = readdirSync(dir).filter((n) => n !== 'out.sqfs');
      if (sig === 'SIGKILL' || times >= 3) {
        // What a kill (or a third signal) leaves is only the temp file, named with the dead run's lease.
        for (const n of left) expect(findLease(n)?.pid).toBe(pid);
      } else expect(left).toEqual([]);
      // A live run's temp file (this test's lease) and another host's stay; the dead run's goes.
      const live = `.out.sqfs.tmp-${leaseTag()}-live`;
      const foreign = `.out.sqfs.tmp-${leaseTag(otherHost())}-x`;
      writeFileSync(join(dir, live), 'live');
      writeFileSync(join(dir, foreign), 'foreign');
      await runOk(['squash', src, out, '--processors', '2']);
      expect(readdirSync(dir).sort()).toEqual([live, foreign, 'out.sqfs'].sort());
      expect(sha256(out)).toBe(ref);
      tally.push({ command: 'squash', point, signal: sig, clean: true });
    },
    300_000,
  );
});

describe('kill test: build and cut-image (shared test image)', () => {
  const env = {
    IMAGE_BUILDER_CACHE: TEST_CACHE,
    DOCKER_REGISTRY: 'localhost',
    IMAGE_PREFIX: 'airship-test',
    DISTRO: 'debian_bookworm',
  };
  const scratchDirs = [
    TEST_CACHE,
    join(TEST_CACHE, 'livecd'),
    join(TEST_CACHE, 'rootfs'),
    join(TEST_CACHE, 'cut'),
    // Where QCOW cuts work by default (CUT_DIR=auto on a machine with memory to spare).
    join(memoryCutRoot(), 'cut'),
    ...new CutCache(memoryCutRoot()).folders(),
    tmpdir(),
  ];
  const killRef = 'localhost/airship-test/image-builder:killtest-debian_bookworm';
  const CUT_REF = 'localhost/airship-test/image-builder:killcut-debian_bookworm';
  const KILLCUT_BUNDLE = 'localhost/airship-test/qcow-bundle:killcut-debian_bookworm';
  /** An ISO and a folder with a cut QCOW2 bundle, left by the cut cases for the boot-test and package-qcow ones. */
  let isoFile = '';
  let qcowOut = '';
  const built: string[] = [];

  beforeAll(async () => {
    // Cuts read a tag of their own: another build on this Docker Engine may move the shared test image's tag
    // between the reference cut and a rerun, and the bytes would differ for that reason alone.
    const { imageId } = await builtImage();
    expect(spawnSync('docker', ['tag', imageId, CUT_REF]).status).toBe(0);
  }, 3_600_000);
  afterAll(() => {
    for (const id of built) spawnSync('docker', ['rmi', '-f', id]);
    spawnSync('docker', ['rmi', CUT_REF]);
  });

  describe('build, stopped in the livecd stage', () => {
    // A live-CD setting no earlier run used, so the livecd stage runs (the others are reused); lz4 keeps it short.
    const manifests = join(work, 'manifests');
    const buildEnv = { ...env, WORKDIR: manifests, IMAGE_TAG: 'killtest' };

    beforeAll(() => {
      cpSync(TEST_MANIFESTS, manifests, { recursive: true });
      writeFileSync(
        join(manifests, 'rootfs', 'livecdcontent-vars.yaml'),
        `mksquashfs_compression: lz4\ngrub_menu_timeout: ${10 + (Date.now() % 100_000)}\n`,
      );
      spawnSync('docker', ['rmi', killRef]);
    });

    function squashfsSha(ref: string): string {
      const r = spawnSync(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'none',
          '--entrypoint',
          'sha256sum',
          ref,
          '/livecd/live/filesystem.squashfs',
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(0);
      return r.stdout.split(' ')[0] ?? '';
    }

    function imageIdOf(output: string): string {
      const id = /^image: \S+ \((sha256:[0-9a-f]+)\)$/m.exec(output)?.[1];
      if (!id) throw new Error(`no image line in:\n${output}`);
      built.push(id);
      return id;
    }

    it.each<[string, RegExp, number, Sig]>([
      ['livecd: export + squashfs running', /^livecd: running/m, 2000, 'SIGINT'],
      ['livecd: squashfs written, grub + commit', /^livecd: squashfs \d+ MiB/m, 0, 'SIGTERM'],
      ['livecd: kernel extracted, squashfs running', /^livecd: kernel /m, 1500, 'SIGKILL'],
    ])(
      '%s, %s: nothing of the run is left (after the next run for SIGKILL)',
      async (point, line, delay, sig) => {
        const r = start(['build'], buildEnv);
        await r.line(line);
        await new Promise((res) => setTimeout(res, delay));
        await stop(r, sig);
        const pid = r.child.pid ?? -1;
        // The reference is tagged only when every stage succeeded.
        expect(spawnSync('docker', ['image', 'inspect', killRef]).status).not.toBe(0);
        if (sig !== 'SIGKILL') {
          expect(dockerOf(pid)).toEqual([]);
          expect(leftoversOf(pid, scratchDirs)).toEqual([]);
        } else {
          // The rerun sweeps the dead run's container, work folder and temp files; then writes the same image.
          expect(dockerOf(pid).length + leftoversOf(pid, scratchDirs).length).toBeGreaterThan(0);
          const again = await runOk(['build'], buildEnv);
          expect(again).toMatch(/removed leftovers of interrupted runs/);
          imageIdOf(again);
          expect(dockerOf(pid)).toEqual([]);
          expect(leftoversOf(pid, scratchDirs)).toEqual([]);
        }
        tally.push({ command: 'build', point, signal: sig, clean: true });
      },
      900_000,
    );

    it('a build after the kill wrote the same squashfs as an uninterrupted one', async () => {
      const afterKill = squashfsSha(killRef);
      // Forget the stage result (the record of the image the rerun made, not `latest`, which another build on
      // this cache may have moved), so the livecd stage runs once more from start to end.
      const stages = join(TEST_CACHE, 'stages', 'livecd');
      const id = built[built.length - 1];
      const mine = readdirSync(stages).filter(
        (n) => n !== 'latest.json' && JSON.parse(readFileSync(join(stages, n), 'utf8')).output?.image === id,
      );
      expect(mine).toHaveLength(1);
      for (const n of mine) rmSync(join(stages, n));
      const fresh = await runOk(['build'], buildEnv);
      expect(fresh).toMatch(/^livecd: done/m);
      imageIdOf(fresh);
      expect(squashfsSha(killRef)).toBe(afterKill);
    }, 900_000);
  });

  describe('cut-image --type iso, BOOT_TIMEOUT=0', () => {
    const cutEnv = {
      ...env,
      WORKDIR: TEST_MANIFESTS,
      IMAGE_TAG: 'killcut',
      BOOT_TIMEOUT: '0',
      IMAGE_TYPE: 'iso',
    };
    const artifacts = ['ephemeral.iso', 'ephemeral.iso.md5sum', 'ephemeral.json'];
    let ref = '';

    beforeAll(async () => {
      const out = join(work, 'iso-ref');
      await runOk(['cut-image'], { ...cutEnv, OUT_DIR: out });
      ref = sha256(join(out, 'ephemeral.iso'));
      isoFile = join(out, 'ephemeral.iso');
    }, 600_000);

    it.each<[string, RegExp, number, Sig]>([
      ['extracting /livecd from the image', /^iso: copying \/livecd/m, 200, 'SIGINT'],
      ['xorriso writing the ISO', /^iso: writing the hybrid ISO/m, 300, 'SIGINT'],
      ['extracting /livecd from the image', /^iso: copying \/livecd/m, 200, 'SIGKILL'],
      ['xorriso writing the ISO', /^iso: writing the hybrid ISO/m, 300, 'SIGKILL'],
    ])(
      '%s, %s: no partial ISO, no temp file, scratch folder or container after the next cut; same bytes',
      async (point, line, delay, sig) => {
        const out = mkdtempSync(join(work, 'iso-'));
        const r = start(['cut-image'], { ...cutEnv, OUT_DIR: out });
        await r.line(line);
        await new Promise((res) => setTimeout(res, delay));
        await stop(r, sig);
        const pid = r.child.pid ?? -1;
        expect(existsSync(join(out, 'ephemeral.iso'))).toBe(false);
        if (sig !== 'SIGKILL') {
          expect(readdirSync(out)).toEqual([]);
          expect(dockerOf(pid)).toEqual([]);
          expect(leftoversOf(pid, scratchDirs)).toEqual([]);
        }
        const again = await runOk(['cut-image'], { ...cutEnv, OUT_DIR: out });
        if (sig === 'SIGKILL') expect(again).toMatch(/removed leftovers of interrupted runs/);
        expect(readdirSync(out).sort()).toEqual(artifacts);
        expect(dockerOf(pid)).toEqual([]);
        expect(leftoversOf(pid, [...scratchDirs, out])).toEqual([]);
        expect(sha256(join(out, 'ephemeral.iso'))).toBe(ref);
        tally.push({ command: 'cut-image', point, signal: sig, clean: true });
      },
      600_000,
    );
  });

  describe('cut-image --type qcow (control-plane bundle), BOOT_TIMEOUT=0', () => {
    // A QCOW cut takes minutes here and two cuts of one image are not byte-identical yet (see the report), so
    // two points: SIGINT while mke2fs fills / and SIGKILL during the qcow2 convert, then a rerun.
    const qcowEnv = {
      ...env,
      WORKDIR: TEST_MANIFESTS,
      IMAGE_TAG: 'killcut',
      BOOT_TIMEOUT: '0',
      IMAGE_TYPE: 'qcow',
      QCOW_NAMES: 'control-plane',
    };

    it.each<[string, RegExp, number, Sig]>([
      ['mkfs / (mke2fs -d)', /^qcow:control-plane: mkfs \//m, 500, 'SIGINT'],
      ['qcow2 convert (qemu-img)', /^qcow:control-plane: convert/m, 1500, 'SIGKILL'],
    ])(
      '%s, %s: no partial QCOW2, temp file, scratch folder, container or image of the run',
      async (point, line, delay, sig) => {
        const out = mkdtempSync(join(work, 'qcow-'));
        const r = start(['cut-image'], { ...qcowEnv, OUT_DIR: out });
        await r.line(line);
        await new Promise((res) => setTimeout(res, delay));
        await stop(r, sig);
        const pid = r.child.pid ?? -1;
        expect(existsSync(join(out, 'control-plane.qcow2'))).toBe(false);
        if (sig !== 'SIGKILL') {
          expect(readdirSync(out)).toEqual([]);
          // The throw-away osconfig image and the cut's container are gone with the run.
          expect(dockerOf(pid)).toEqual([]);
          expect(leftoversOf(pid, scratchDirs)).toEqual([]);
        } else {
          // The kill left leased temp files (the partial QCOW2, the unpacked tree); the next cut removes them.
          expect(leftoversOf(pid, [...scratchDirs, out]).length).toBeGreaterThan(0);
          const again = await runOk(['cut-image'], { ...qcowEnv, OUT_DIR: out });
          qcowOut = out;
          expect(again).toMatch(/removed leftovers of interrupted runs/);
          expect(readdirSync(out).sort()).toEqual([
            'control-plane.json',
            'control-plane.qcow2',
            'control-plane.qcow2.md5sum',
          ]);
          expect(spawnSync('qemu-img', ['check', join(out, 'control-plane.qcow2')]).status).toBe(0);
          expect(dockerOf(pid)).toEqual([]);
          expect(leftoversOf(pid, [...scratchDirs, out])).toEqual([]);
        }
        tally.push({ command: 'cut qcow', point, signal: sig, clean: true });
      },
      900_000,
    );
  });

  describe('the other commands: doctor, boot-test, package-qcow', () => {
    // A bundle image an earlier, failed run of this file left would look like this run's.
    beforeAll(() => {
      spawnSync('docker', ['image', 'rm', '-f', KILLCUT_BUNDLE]);
    });

    function noQemuFor(file: string): boolean {
      return spawnSync('pgrep', ['-f', `qemu-system.*${file}`]).status !== 0;
    }

    it.each<[string, string[], Record<string, string>, RegExp, number, () => void]>([
      [
        'doctor: probing KVM, Docker and tools',
        ['doctor', '--quick'],
        {},
        /checking Docker, tools, KVM and disk/,
        300,
        () => {},
      ],
      [
        'boot-test: guests booting (qemu)',
        ['boot-test', '@iso', '--firmware', 'both'],
        { IMAGE_BUILDER_CACHE: TEST_CACHE, BOOT_TIMEOUT: '300' },
        /booting under/,
        1500,
        () => expect(noQemuFor(isoFile)).toBe(true),
      ],
      [
        'package-qcow: image import',
        ['package-qcow'],
        {
          ...env,
          WORKDIR: TEST_MANIFESTS,
          // The image the QCOW2 in @qcow was cut from: package-qcow cuts first what was cut from another.
          IMAGE_TAG: 'killcut',
          QCOW_NAMES: 'control-plane',
          OUT_DIR: '@qcow',
        },
        // The QCOW2 is there, so the cut step has nothing to do: this is the bundle image's import.
        /^package:\S+: running/m,
        100,
        () => expect(spawnSync('docker', ['image', 'inspect', KILLCUT_BUNDLE]).status).not.toBe(0),
      ],
    ])(
      '%s, SIGINT: exit 130, children stopped, nothing of the run left',
      async (point, args, extra, line, delay, check) => {
        if (!isoFile || !qcowOut)
          throw new Error('run the whole file: the cut cases make the ISO and the QCOW2');
        const argv = args.map((a) => (a === '@iso' ? isoFile : a));
        const e = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v === '@qcow' ? qcowOut : v]));
        const r = start(argv, e);
        await r.line(line);
        await new Promise((res) => setTimeout(res, delay));
        await stop(r, 'SIGINT');
        const pid = r.child.pid ?? -1;
        check();
        expect(dockerOf(pid)).toEqual([]);
        expect(leftoversOf(pid, scratchDirs)).toEqual([]);
        tally.push({
          command: point.split(':')[0] ?? point,
          point: point.replace(/^[^:]+: /, ''),
          signal: 'SIGINT',
          clean: true,
        });
      },
      600_000,
    );
  });
});
