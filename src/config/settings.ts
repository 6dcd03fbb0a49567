/**
 * The one table of user-facing settings. It drives the CLI flags, the environment variables
 * (the original Makefile's names), the resolved configuration and the README's reference.
 */

export type CommandName =
  | 'build'
  | 'cut-image'
  | 'package-qcow'
  | 'boot-test'
  | 'squash'
  | 'doctor'
  | 'config'
  | 'images'
  | 'clean';

export type SettingKind = 'string' | 'boolean' | 'integer' | 'list';

export interface SettingSpec {
  /** Key in {@link Settings}. */
  readonly key: keyof Settings;
  /** Long flag without its value placeholder, e.g. `--workdir`. */
  readonly flag: string;
  /** Placeholder for the flag's value; absent for booleans. */
  readonly value?: string;
  readonly env: string;
  readonly kind: SettingKind;
  readonly default: string | number | boolean | readonly string[];
  readonly help: string;
  /** Commands that take this setting; `*` means all. */
  readonly commands: readonly CommandName[] | '*';
}

/** Every setting resolved: defaults < environment < flags. */
export interface Settings {
  workdir: string;
  profile: string;
  imageType: 'iso' | 'qcow';
  dockerRegistry: string;
  imagePrefix: string;
  imageTag: string;
  distro: string;
  qcowBundle: string;
  qcowBundleDirs: string[];
  qcowNames: string[];
  image: string;
  skipMultistrap: boolean;
  skipMultiRole: boolean;
  skipOsconfigRole: boolean;
  skipLivecdcontentRole: boolean;
  proxy: string;
  noProxy: string;
  bootTimeout: number;
  pushImage: boolean;
  outDir: string;
  cacheDir: string;
  cutDir: string;
}

const BUILD_AND_CUT: readonly CommandName[] = [
  'build',
  'cut-image',
  'package-qcow',
  'config',
  'images',
  'clean',
];
const CUTS: readonly CommandName[] = ['cut-image', 'package-qcow', 'config', 'images'];

export const SETTINGS: readonly SettingSpec[] = [
  {
    key: 'workdir',
    flag: '--workdir',
    value: 'DIR',
    env: 'WORKDIR',
    kind: 'string',
    default: '',
    help: 'manifests folder in the original layout (rootfs/, iso/, qcow-bundle*/); files it lacks come from the bundled defaults; empty = bundled defaults only',
    commands: '*',
  },
  {
    key: 'profile',
    flag: '--profile',
    value: 'NAME',
    env: 'PROFILE',
    kind: 'string',
    default: '',
    help: 'overlay profiles/NAME/manifests/ over the manifests folder; profiles/ is looked for beside the manifests folder, beside its parent, then in the bundled defaults',
    commands: BUILD_AND_CUT,
  },
  {
    key: 'imageType',
    flag: '--type',
    value: 'iso|qcow',
    env: 'IMAGE_TYPE',
    kind: 'string',
    default: 'iso',
    help: 'artifact to cut',
    commands: ['cut-image', 'config'],
  },
  {
    key: 'dockerRegistry',
    flag: '--registry',
    value: 'HOST',
    env: 'DOCKER_REGISTRY',
    kind: 'string',
    default: 'localhost',
    help: 'registry part of the image reference',
    commands: BUILD_AND_CUT,
  },
  {
    key: 'imagePrefix',
    flag: '--image-prefix',
    value: 'PREFIX',
    env: 'IMAGE_PREFIX',
    kind: 'string',
    default: 'airshipit',
    help: 'prefix part of the image reference',
    commands: BUILD_AND_CUT,
  },
  {
    key: 'imageTag',
    flag: '--image-tag',
    value: 'TAG',
    env: 'IMAGE_TAG',
    kind: 'string',
    default: 'latest',
    help: 'tag part of the image reference (the distro is appended)',
    commands: BUILD_AND_CUT,
  },
  {
    key: 'distro',
    flag: '--distro',
    value: 'NAME',
    env: 'DISTRO',
    kind: 'string',
    default: 'debian_bookworm',
    help: 'distribution the image is built from; appended to the image tag',
    commands: BUILD_AND_CUT,
  },
  {
    key: 'qcowBundle',
    flag: '--qcow-bundle',
    value: 'DIR',
    env: 'QCOW_BUNDLE',
    kind: 'string',
    default: 'qcow-bundle',
    help: 'bundle folder to cut: a name inside the manifests folder, or a path to a folder inside it; each sub-folder is one QCOW image',
    commands: CUTS,
  },
  {
    key: 'qcowBundleDirs',
    flag: '--qcow-bundle-dirs',
    value: 'LIST',
    env: 'QCOW_BUNDLE_DIRS',
    kind: 'list',
    default: [],
    help: 'comma- or space-separated bundle folders of the manifests folder, each cut (and packaged) in turn into OUT_DIR/<folder>/; replaces QCOW_BUNDLE; empty = QCOW_BUNDLE (package-qcow and images: every qcow-bundle* folder when QCOW_BUNDLE is not given)',
    commands: CUTS,
  },
  {
    key: 'qcowNames',
    flag: '--qcow-names',
    value: 'LIST',
    env: 'QCOW_NAMES',
    kind: 'list',
    default: [],
    help: 'comma- or space-separated QCOW images (sub-folders of the bundle folders) to cut; empty = all',
    commands: CUTS,
  },
  {
    key: 'image',
    flag: '--image',
    value: 'REF',
    env: 'IMAGE',
    kind: 'string',
    default: '',
    help: 'image reference to build (tag) and to cut from, instead of DOCKER_REGISTRY/IMAGE_PREFIX/image-builder:IMAGE_TAG-DISTRO',
    commands: BUILD_AND_CUT,
  },
  {
    key: 'skipMultistrap',
    flag: '--skip-multistrap',
    env: 'SKIP_MULTISTRAP',
    kind: 'boolean',
    default: false,
    help: 'reuse the previous rootfs instead of bootstrapping it again',
    commands: ['build', 'config', 'images'],
  },
  {
    key: 'skipMultiRole',
    flag: '--skip-multi-role',
    env: 'SKIP_MULTI_ROLE',
    kind: 'boolean',
    default: false,
    help: 'reuse the previous rootfs and base image (test osconfig changes quickly)',
    commands: ['build', 'config', 'images'],
  },
  {
    key: 'skipOsconfigRole',
    flag: '--skip-osconfig-role',
    env: 'SKIP_OSCONFIG_ROLE',
    kind: 'boolean',
    default: false,
    help: 'skip the osconfig stage and reuse its previous result',
    commands: ['build', 'config', 'images'],
  },
  {
    key: 'skipLivecdcontentRole',
    flag: '--skip-livecdcontent-role',
    env: 'SKIP_LIVECDCONTENT_ROLE',
    kind: 'boolean',
    default: false,
    help: 'skip the live-CD content stage (squashfs, kernel, grub) and reuse its previous result',
    commands: ['build', 'config', 'images'],
  },
  {
    key: 'proxy',
    flag: '--proxy',
    value: 'URL',
    env: 'PROXY',
    kind: 'string',
    default: '',
    help: 'HTTP(S) proxy for apt and fetch_from_url; credentials in it are never logged',
    commands: ['build', 'cut-image', 'package-qcow', 'config', 'images'],
  },
  {
    key: 'noProxy',
    flag: '--noproxy',
    value: 'LIST',
    env: 'NO_PROXY',
    kind: 'string',
    default: 'localhost,127.0.0.1',
    help: 'comma-separated hosts that bypass the proxy',
    commands: ['build', 'cut-image', 'package-qcow', 'config', 'images'],
  },
  {
    key: 'bootTimeout',
    flag: '--boot-timeout',
    value: 'SECONDS',
    env: 'BOOT_TIMEOUT',
    kind: 'integer',
    default: 300,
    help: 'seconds to wait for a login prompt when boot-testing; 0 skips the boot test',
    commands: ['cut-image', 'boot-test', 'config', 'package-qcow', 'images'],
  },
  {
    key: 'pushImage',
    flag: '--push',
    env: 'PUSH_IMAGE',
    kind: 'boolean',
    default: false,
    help: 'push the built image (build) and each bundle image (package-qcow) to their registry',
    commands: ['build', 'package-qcow', 'config', 'images'],
  },
  {
    key: 'outDir',
    flag: '--out-dir',
    value: 'DIR',
    env: 'OUT_DIR',
    kind: 'string',
    default: 'out',
    help: 'folder the artifacts are written to',
    commands: ['cut-image', 'package-qcow', 'config', 'images', 'clean'],
  },
  {
    key: 'cacheDir',
    flag: '--cache-dir',
    value: 'DIR',
    env: 'IMAGE_BUILDER_CACHE',
    kind: 'string',
    default: '.cache/image-builder',
    help: 'folder for downloaded packages, stage results, block cache, the cut cache (`cut-cache/`: unpacked trees and osconfig layers of QCOW cuts) and logs',
    commands: ['build', 'cut-image', 'package-qcow', 'config', 'images', 'clean'],
  },
  {
    key: 'cutDir',
    flag: '--cut-dir',
    value: 'DIR',
    env: 'CUT_DIR',
    kind: 'string',
    default: 'auto',
    help: "folder QCOW cuts work in and keep their cut cache in; `auto` = a private folder in /dev/shm when it is a tmpfs and the machine has memory for six times the image (a cold cut's unpacking is about twice as fast there; the unpacked tree stays in memory until a cut of another image 15 minutes later, `clean` or a reboot), else the cache folder",
    commands: ['cut-image', 'package-qcow', 'config', 'images', 'clean'],
  },
];

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** Parses one raw value (from env or a flag) for a setting; throws a message naming the source. */
export function parseSettingValue(spec: SettingSpec, raw: string, source: string): Settings[keyof Settings] {
  switch (spec.kind) {
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      throw new Error(`${source}: expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'integer': {
      if (!/^\s*\d+\s*$/.test(raw))
        throw new Error(`${source}: expected a whole number, got ${JSON.stringify(raw)}`);
      return Number.parseInt(raw, 10);
    }
    case 'list': {
      const items = raw.split(/[\s,]+/).filter((s) => s.length > 0);
      for (const item of items) checkListItem(spec, item, source);
      return items;
    }
    case 'string':
      if (spec.key === 'imageType' && raw !== 'iso' && raw !== 'qcow') {
        throw new Error(`${source}: expected iso or qcow, got ${JSON.stringify(raw)}`);
      }
      if (spec.key === 'image' && raw !== '' && !IMAGE_REF.test(raw)) {
        throw new Error(
          `${source}: expected an image reference such as registry:5000/prefix/image-builder:tag, got ${JSON.stringify(raw)}`,
        );
      }
      if (spec.key === 'cutDir' && raw.trim() === '')
        throw new Error(`${source}: expected auto or a folder, got an empty value`);
      return raw;
  }
}

/** A folder name: not `.` or `..`, no slash. */
export const FOLDER_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;
/**
 * A Docker image reference: optional registry host (with port), lower-case path components, then a tag or a
 * digest (the grammar of the distribution reference, without upper-case repository names).
 */
const IMAGE_REF =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** QCOW_NAMES items are folder names; QCOW_BUNDLE_DIRS items are folders inside the manifests folder. */
function checkListItem(spec: SettingSpec, item: string, source: string): void {
  if (spec.key === 'qcowNames' && !FOLDER_NAME.test(item)) {
    throw new Error(
      `${source}: expected sub-folder names of the bundle (letters, digits, ".", "_", "-"), got ${JSON.stringify(item)}`,
    );
  }
  if (spec.key === 'qcowBundleDirs' && !item.split('/').every((part) => FOLDER_NAME.test(part))) {
    throw new Error(
      `${source}: expected bundle folders inside the manifests folder (names, or relative paths without "." or ".." parts), got ${JSON.stringify(item)}`,
    );
  }
}

export function defaultSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) out[s.key] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as unknown as Settings;
}

/**
 * Resolves settings: defaults, then environment variables, then explicit flag values.
 * `flags` holds raw strings (or booleans for boolean flags) keyed by setting key.
 * @throws Error naming the env variable or flag whose value is invalid.
 */
export function resolveSettings(
  env: Readonly<Record<string, string | undefined>>,
  flags: Readonly<Partial<Record<keyof Settings, string | boolean>>>,
): Settings {
  const out = defaultSettings() as unknown as Record<string, unknown>;
  for (const spec of SETTINGS) {
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined)
      out[spec.key] = parseSettingValue(spec, fromEnv, `environment variable ${spec.env}`);
    const fromFlag = flags[spec.key];
    if (typeof fromFlag === 'boolean') out[spec.key] = fromFlag;
    else if (fromFlag !== undefined) out[spec.key] = parseSettingValue(spec, fromFlag, `option ${spec.flag}`);
  }
  return out as unknown as Settings;
}

/** `${DOCKER_REGISTRY}/${IMAGE_PREFIX}/image-builder:${IMAGE_TAG}-${DISTRO}` */
export function imageReference(
  s: Pick<Settings, 'dockerRegistry' | 'imagePrefix' | 'imageTag' | 'distro'> &
    Partial<Pick<Settings, 'image'>>,
): string {
  // IMAGE, as in the original Makefile, replaces the composed reference for build and cut alike.
  if (s.image) return s.image;
  return `${s.dockerRegistry}/${s.imagePrefix}/image-builder:${s.imageTag}-${s.distro}`;
}

/**
 * `${DOCKER_REGISTRY}/${IMAGE_PREFIX}/<bundle folder>:${IMAGE_TAG}-${DISTRO}`, the original's bundle image name
 * (the folder's last path part; `folder` defaults to QCOW_BUNDLE).
 */
export function qcowImageReference(
  s: Pick<Settings, 'dockerRegistry' | 'imagePrefix' | 'imageTag' | 'distro' | 'qcowBundle'>,
  folder: string = s.qcowBundle,
): string {
  const last = folder.replace(/\/+$/, '').split('/').pop() ?? folder;
  const name = last.replace(/[^a-z0-9._-]+/gi, '-').toLowerCase();
  return `${s.dockerRegistry}/${s.imagePrefix}/${name}:${s.imageTag}-${s.distro}`;
}
