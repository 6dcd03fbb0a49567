/** A bundle's qcow file set to {@link QcowVars}: sizes resolved to bytes and the partition table checked. */
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, where } from './merge.js';
import { checkPartitions, parseBoundary, parseCapacity } from './partitions.js';
import type { PartitionInput } from './schemas/qcow.js';
import type { LoadedTable } from './table.js';
import type { OsconfigUserScript, Partition, QcowVars } from './types.js';

export function buildQcow(t: LoadedTable, bundle: string): { vars: QcowVars; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const v = t.values;
  const rawCapacity = v.qcow_capacity ?? '8G';
  const cap = parseCapacity(rawCapacity);
  if (typeof cap === 'string') diagnostics.push(diagnosticAt(where(t.table, 'qcow_capacity', []), cap));
  const capacity = typeof cap === 'number' ? cap : 0;
  const partitions: Partition[] = [];
  let boundariesOk = true;
  ((v.partitions ?? []) as PartitionInput[]).forEach((p, i) => {
    const bound = (field: 'part_start' | 'part_end') => {
      const b = parseBoundary(p[field], capacity);
      if (typeof b === 'string') {
        boundariesOk = false;
        diagnostics.push(diagnosticAt(where(t.table, 'partitions', [i, field]), b));
        return 0;
      }
      return b;
    };
    const out: Partition = {
      mount: p.mount,
      mount_order: p.mount_order,
      start_bytes: bound('part_start'),
      end_bytes: bound('part_end'),
      part_start: String(p.part_start),
      part_end: String(p.part_end),
      flags: p.flags,
    };
    if (p.filesystem) out.filesystem = p.filesystem;
    partitions.push(out);
  });
  // A list that failed its schema is reported already; checking what is left of it would only add noise.
  const listOk = !t.table.has('partitions') || v.partitions !== undefined;
  if (boundariesOk && listOk && capacity > 0) {
    for (const problem of checkPartitions(partitions, capacity)) {
      const path = problem.index < 0 ? [] : problem.field ? [problem.index, problem.field] : [problem.index];
      diagnostics.push(diagnosticAt(where(t.table, 'partitions', path), problem.message));
    }
  }
  return {
    vars: {
      img_name: (v.img_name as string | undefined) ?? `${bundle}.qcow2`,
      qcow_capacity: String(rawCapacity),
      capacity_bytes: capacity,
      qcow_compress: (v.qcow_compress ?? true) as boolean,
      qcow_compression_type: (v.qcow_compression_type ?? 'zlib') as 'zlib' | 'zstd',
      qcow_writer: (v.qcow_writer ?? 'native') as 'native' | 'qemu-img',
      partitions,
      qcow_container_runtime_scripts: (v.qcow_container_runtime_scripts ?? []) as OsconfigUserScript[],
    },
    diagnostics,
  };
}
