/**
 * The resolved configuration. Keys read from manifest files keep the original's snake_case names: they are the
 * user's interface and are handed to our Ansible role as they are. The types of the variables files are those
 * their schemas give (src/config/schemas/), plus what the loader adds (resolved sizes, `extra`).
 */
import type { Diagnostic } from '../errors.js';
import type { RunContext } from './schemas/common.js';
import type { VarsOf } from './schemas/kind.js';
import type { livecdKind } from './schemas/livecd.js';
import type { multistrapKind, Repo, TEMPLATE_ONLY } from './schemas/multistrap.js';
import type { OsconfigValues } from './schemas/osconfig.js';
import type { FilesystemType, PartitionInput, qcowKind } from './schemas/qcow.js';
import type { Settings } from './settings.js';

export type {
  NameValue,
  OsconfigDirectory,
  OsconfigFetch,
  OsconfigFile,
  OsconfigLimit,
  OsconfigSystemdUnit,
  OsconfigUser,
  OsconfigUserScript,
} from './schemas/osconfig.js';
export type { FilesystemType, Repo, RunContext };

/** `rootfs/multistrap-vars.yaml`: a repo's `source: host` is replaced at load by this machine's apt mirror. */
export type MultistrapVars = Omit<VarsOf<typeof multistrapKind>, (typeof TEMPLATE_ONLY)[number]> & {
  /** Repos whose source cannot be reached from this machine (e.g. Ubuntu mirrors): reported, not fatal at load. */
  unreachable_hints: string[];
  /** Every other variable of the file, kept for templating (`k8s_version`, `*_packages`). */
  extra: Record<string, unknown>;
};

/** The osconfig role's variables (`grub_cmdline_linux_default_append` already in `grub`, kept for display). */
export type OsconfigVars = OsconfigValues & {
  /**
   * Variables of the files that the role does not know, kept for display: ones a template uses and the
   * original's container paths. Never handed to the role.
   */
  extra: Record<string, unknown>;
};

/** `rootfs/livecdcontent-vars.yaml`: mksquashfs_compression, level, threads, stall timeout, menu timeout. */
export type LivecdVars = VarsOf<typeof livecdKind>;

/** `iso/`: the config-drive's three files, taken whole (they are data, not variables). */
export interface IsoVars {
  img_name: string;
  user_data: string;
  network_data: unknown;
  meta_data: { hostname?: string; name?: string; uuid?: string; [k: string]: unknown };
  /** Files the three came from (bundled default or the user's). */
  sources: { user_data: string; network_data: string; meta_data: string };
}

/** A partition of `qcow-vars.yaml` with its boundaries resolved to bytes from MiB/GiB/% against qcow_capacity. */
export type Partition = Omit<PartitionInput, 'part_start' | 'part_end'> & {
  start_bytes: number;
  end_bytes: number;
  /** As written in the file, for messages. */
  part_start: string;
  part_end: string;
};

/** A bundle's `qcow-vars.yaml`: the disk's size resolved to bytes, `img_name` to `<bundle>.qcow2` by default. */
export type QcowVars = Omit<VarsOf<typeof qcowKind>, 'img_name' | 'partitions'> & {
  img_name: string;
  capacity_bytes: number;
  partitions: Partition[];
};

export interface QcowBundle {
  /** Sub-folder name, e.g. `control-plane`; the QCOW is `<name>.qcow2`. */
  name: string;
  /** The bundle folder it belongs to, relative to the manifests folder (`qcow-bundle`). */
  folder?: string;
  /** Sub-folder of OUT_DIR its artifacts go to: the folder when QCOW_BUNDLE_DIRS names several, else ''. */
  outSub?: string;
  dir: string;
  osconfig: OsconfigVars;
  qcow: QcowVars;
}

export interface BuildConfig {
  settings: Settings;
  /** `${DOCKER_REGISTRY}/${IMAGE_PREFIX}/image-builder:${IMAGE_TAG}-${DISTRO}` */
  imageRef: string;
  /** The user's manifests folder, or null when only bundled defaults are used. */
  manifestsDir: string | null;
  multistrap: MultistrapVars;
  osconfig: OsconfigVars;
  livecdcontent: LivecdVars;
  iso: IsoVars;
  qcowBundles: QcowBundle[];
}

/** A loaded configuration and its non-fatal findings (e.g. unknown top-level variables). */
export interface LoadedConfig {
  config: BuildConfig;
  /** Warnings; `resolveConfig` masks the secrets in them. */
  warnings: Diagnostic[];
}
