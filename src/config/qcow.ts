/** A bundle's qcow file set to {@link QcowVars}: sizes resolved to bytes and the partition table checked. */
import type { Diagnostic } from '../errors.js';
import { diagnosticAt, where } from './merge.js';
import { checkPartitions, parseBoundary, parseCapacity } from './partitions.js';
import type { qcowKind } from './schemas/qcow.js';
import type { LoadedTable } from './table.js';
import type { Partition, QcowVars } from './types.js';

export function buildQcow(
  t: LoadedTable<typeof qcowKind>,
  bundle: string,
): { vars: QcowVars; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const { img_name, qcow_capacity, ...rest } = t.vars;
  const cap = parseCapacity(qcow_capacity);
  if (typeof cap === 'string') diagnostics.push(diagnosticAt(where(t.table, 'qcow_capacity', []), cap));
  const capacity = typeof cap === 'number' ? cap : 0;
  const partitions: Partition[] = [];
  let boundariesOk = true;
  rest.partitions.forEach((p, i) => {
    const bound = (field: 'part_start' | 'part_end') => {
      const b = parseBoundary(p[field], capacity);
      if (typeof b === 'string') {
        boundariesOk = false;
        diagnostics.push(diagnosticAt(where(t.table, 'partitions', [i, field]), b));
        return 0;
      }
      return b;
    };
    const { mount, mount_order, ...more } = p;
    partitions.push({
      mount,
      mount_order,
      start_bytes: bound('part_start'),
      end_bytes: bound('part_end'),
      ...more,
      part_start: String(p.part_start),
      part_end: String(p.part_end),
    });
  });
  // A list that failed its schema is reported already; checking what is left of it would only add noise.
  const listOk = !t.table.has('partitions') || t.values.partitions !== undefined;
  if (boundariesOk && listOk && capacity > 0) {
    for (const problem of checkPartitions(partitions, capacity)) {
      const path = problem.index < 0 ? [] : problem.field ? [problem.index, problem.field] : [problem.index];
      diagnostics.push(diagnosticAt(where(t.table, 'partitions', path), problem.message));
    }
  }
  return {
    // The one default that depends on the bundle: its QCOW is named after it.
    vars: {
      img_name: img_name ?? `${bundle}.qcow2`,
      qcow_capacity,
      capacity_bytes: capacity,
      ...rest,
      partitions,
    },
    diagnostics,
  };
}
