/** The livecdcontent file set to {@link LivecdVars}. */
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, where } from './merge.js';
import { type Compressor, LEVELS } from './schemas/livecd.js';
import type { LoadedTable } from './table.js';
import type { LivecdVars } from './types.js';

export function buildLivecd(t: LoadedTable): { vars: LivecdVars; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const v = t.values;
  const compressor = (v.mksquashfs_compression ?? 'lz4') as Compressor;
  const vars: LivecdVars = {
    mksquashfs_compression: compressor,
    mksquashfs_threads: (v.mksquashfs_threads ?? 0) as number,
    squashfs_timeout: (v.squashfs_timeout ?? 120) as number,
    grub_menu_timeout: (v.grub_menu_timeout ?? 0) as number,
  };
  if (typeof v.mksquashfs_level === 'number') {
    const range = LEVELS[compressor];
    const level = v.mksquashfs_level;
    if (!range) {
      diagnostics.push(
        diagnosticAt(
          where(t.table, 'mksquashfs_level', []),
          `${compressor} has no compression levels; remove mksquashfs_level`,
        ),
      );
    } else if (level < range[0] || level > range[1]) {
      diagnostics.push(
        diagnosticAt(
          where(t.table, 'mksquashfs_level', []),
          `${compressor} levels run from ${range[0]} to ${range[1]}, got ${level}`,
        ),
      );
    }
    vars.mksquashfs_level = level;
  }
  return { vars, diagnostics };
}
