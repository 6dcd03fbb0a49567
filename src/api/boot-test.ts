/**
 * `bootTest`: boots an ISO or QCOW2 under qemu (src/stages/boot.ts) and waits for its login prompt.
 */
import { resolve } from 'node:path';
import { defaultSettings, type Settings } from '../config/settings.js';
import type { Firmware } from '../engine/qemu.js';
import { UsageError } from '../errors.js';
import { type BootOutcome, bootTestArtifact } from '../stages/boot.js';
import { sweepLeftovers } from '../stages/reaper.js';
import type { CommonOptions } from './common.js';

export interface BootTestOptions extends CommonOptions {
  artifact: string;
  firmware?: 'bios' | 'uefi' | 'both';
  /** Expected host name in the prompt; default: `ephemeral` for an ISO, the seed's name for a QCOW. */
  hostname?: string;
  accel?: 'kvm' | 'tcg';
}

/**
 * Boots an ISO or QCOW2 and waits for `<hostname> login:` on the serial console.
 * Resolves with no boots when BOOT_TIMEOUT is 0.
 * @throws UsageError for an unknown artifact type or firmware; BuildError with the serial log tail when
 *   the prompt does not appear in time or shows another host name.
 */
export async function bootTest(opts: BootTestOptions): Promise<BootOutcome[]> {
  const settings: Settings = { ...defaultSettings(), ...opts.settings };
  if (settings.bootTimeout === 0) return [];
  const artifact = resolve(opts.artifact);
  const kind = artifact.endsWith('.iso') ? 'iso' : artifact.endsWith('.qcow2') ? 'qcow' : null;
  if (!kind) throw new UsageError(`${opts.artifact}: expected an .iso or .qcow2 file`);
  const fw = opts.firmware ?? 'both';
  const firmware: Firmware[] = fw === 'both' ? ['bios', 'uefi'] : fw === 'bios' || fw === 'uefi' ? [fw] : [];
  if (firmware.length === 0)
    throw new UsageError(`--firmware: expected bios, uefi or both, got ${JSON.stringify(fw)}`);
  await sweepLeftovers({ folders: [resolve(settings.cacheDir)] });
  return bootTestArtifact({
    artifact,
    kind,
    firmware,
    timeoutSec: settings.bootTimeout,
    ...(opts.hostname ? { hostname: opts.hostname } : {}),
    cacheDir: resolve(settings.cacheDir),
    logDir: resolve(settings.cacheDir, 'logs'),
    ...(opts.accel ? { accel: opts.accel } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}
