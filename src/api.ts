/**
 * The public library API of airship-image-builder. The CLI is a thin layer over these calls.
 */

export { type BootTestOptions, bootTest } from './api/boot-test.js';
export { type BuildOptions, type BuildResult, build, type StageTiming } from './api/build.js';
export type { CommonOptions, ProgressEvent, ProgressListener } from './api/common.js';
export { type LoadedConfig, resolveConfig } from './api/config.js';
export {
  type CutArtifact,
  type CutImageOptions,
  cutImage,
  planBundles,
  type QcowOsconfig,
} from './api/cut-image.js';
export {
  type Advice,
  type CpuFacts,
  type CpuVerdict,
  type CpuVerdictResult,
  cpuVerdict,
  type DoctorOptions,
  type DoctorReport,
  doctor,
  type ProbeResult,
  type Throughput,
} from './api/doctor.js';
export { notYet } from './api/not-yet.js';
export { type PackageQcowOptions, packageQcow, qcowImageReference } from './api/package-qcow.js';
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
export { LIVECD_MARKER, LIVECD_ROOT } from './stages/livecd.js';
export { applyOsconfig, newSession, type OsconfigInput } from './stages/osconfig.js';
