/** The livecdcontent file set to {@link LivecdVars}: the level checked against the compressor's range. */
import { COMPRESSORS, levelProblem } from '../compressors.js';
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, where } from './merge.js';
import type { livecdKind } from './schemas/livecd.js';
import type { LoadedTable } from './table.js';
import type { LivecdVars } from './types.js';

export function buildLivecd(t: LoadedTable<typeof livecdKind>): {
  vars: LivecdVars;
  diagnostics: Diagnostic[];
} {
  const { mksquashfs_compression: compressor, mksquashfs_level: level } = t.vars;
  const why = level === undefined ? undefined : levelProblem(compressor, level);
  const diagnostics = why
    ? [
        diagnosticAt(
          where(t.table, 'mksquashfs_level', []),
          COMPRESSORS[compressor].levels ? why : `${why}; remove mksquashfs_level`,
        ),
      ]
    : [];
  return { vars: t.vars, diagnostics };
}
