/**
 * The public library API of airship-image-builder. The CLI is a thin layer over these calls.
 *
 * The entry points load their module on first call: importing the library (or running one CLI command) then
 * costs milliseconds, not the quarter second that the Docker client, schemas and YAML parser take to load.
 */
import type * as BootTestApi from './api/boot-test.js';
import type * as BuildApi from './api/build.js';
import type * as CleanApi from './api/clean.js';
import type * as ConfigApi from './api/config.js';
import type * as CutImageApi from './api/cut-image.js';
import type * as DoctorApi from './api/doctor.js';
import type * as ImagesApi from './api/images.js';
import type * as PackageQcowApi from './api/package-qcow.js';
import type * as OsconfigStage from './stages/osconfig.js';

export type { BootTestOptions } from './api/boot-test.js';
export const bootTest: typeof BootTestApi.bootTest = async (...a) =>
  (await import('./api/boot-test.js')).bootTest(...a);
export type { BuildOptions, BuildResult, StageTiming } from './api/build.js';
export const build: typeof BuildApi.build = async (...a) => (await import('./api/build.js')).build(...a);
export type { CommonOptions, ProgressEvent, ProgressListener, ProgressUnit } from './api/common.js';
export type { LoadedConfig } from './api/config.js';
export { percentOf, progressOf } from './progress.js';
export const resolveConfig: typeof ConfigApi.resolveConfig = async (...a) =>
  (await import('./api/config.js')).resolveConfig(...a);
export type { CutArtifact, CutImageOptions, QcowOsconfig } from './api/cut-image.js';
export const cutImage: typeof CutImageApi.cutImage = async (...a) =>
  (await import('./api/cut-image.js')).cutImage(...a);
export const planBundles: typeof CutImageApi.planBundles = async (...a) =>
  (await import('./api/cut-image.js')).planBundles(...a);
export type {
  Advice,
  CpuFacts,
  CpuVerdict,
  DoctorOptions,
  DoctorReport,
  ProbeResult,
  Throughput,
} from './api/doctor.js';
export const doctor: typeof DoctorApi.doctor = async (...a) => (await import('./api/doctor.js')).doctor(...a);
export { type CpuVerdictResult, cpuVerdict } from './api/cpu-verdict.js';
export type { ImagesOptions, ImagesResult } from './api/images.js';
export { notYet } from './api/not-yet.js';
export type { PackagedBundle, PackageQcowOptions } from './api/package-qcow.js';
export const images: typeof ImagesApi.images = async (...a) => (await import('./api/images.js')).images(...a);
export type { CleanOptions, CleanResult } from './api/clean.js';
export const clean: typeof CleanApi.clean = async (...a) => (await import('./api/clean.js')).clean(...a);
export const packageQcow: typeof PackageQcowApi.packageQcow = async (...a) =>
  (await import('./api/package-qcow.js')).packageQcow(...a);
export {
  type Compression,
  type SquashOptions,
  type SquashResult,
  squash,
  type WriterOptions,
} from './api/squash.js';
export { toolVersion } from './api/tool-version.js';
export {
  type CommandName,
  defaultSettings,
  imageReference,
  qcowImageReference,
  resolveSettings,
  SETTINGS,
  type SettingSpec,
  type Settings,
} from './config/settings.js';
export type * from './config/types.js';
export { SESSION_LABEL } from './engine/docker.js';
export {
  BuildError,
  ConfigError,
  type Diagnostic,
  exitCodeOf,
  formatDiagnostic,
  NotImplementedError,
  type SourcePosition,
  UsageError,
} from './errors.js';
export { nativeInfo } from './squashfs/native.js';
export { LIVECD_MARKER, LIVECD_ROOT, newSession } from './stages/names.js';
export const applyOsconfig: typeof OsconfigStage.applyOsconfig = async (...a) =>
  (await import('./stages/osconfig.js')).applyOsconfig(...a);
export type { OsconfigInput } from './stages/osconfig.js';
