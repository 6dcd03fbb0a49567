/**
 * The public library API of airship-image-builder. The CLI is a thin layer over these calls.
 */

export { type BootTestOptions, bootTest } from './api/boot-test.js';
export type { CommonOptions, ProgressEvent, ProgressListener } from './api/common.js';
export { type LoadedConfig, resolveConfig } from './api/config.js';
export {
  type CutArtifact,
  type CutImageOptions,
  cutImage,
  planBundles,
  type QcowOsconfig,
} from './api/cut-image.js';
export { notYet } from './api/not-yet.js';
export { type PackageQcowOptions, packageQcow, qcowImageReference } from './api/package-qcow.js';
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

import { notYet } from './api/not-yet.js';

export const build = notYet('build');
export const squash = notYet('squash');
export const doctor = notYet('doctor');
