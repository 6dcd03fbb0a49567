/**
 * How big the pipeline's tasks and result slabs are: shared by the pipeline, the sources that hand it runs of
 * blocks, and the writer that allocates the slabs before the pool starts.
 */
import { resultCapacity } from './protocol.js';

/** Items per task: bounds the per-task table and the message size. */
export const TASK_ITEMS = 256;

/**
 * Largest run of full blocks a source may carry in one reservation ({@link DataPipeline.reserveBlocks}): the tar
 * source holds a whole file up to this size, to drop a copy before it is compressed.
 */
export const MAX_CARRIED_RUN = 4 << 20;

/** Largest run of full blocks handed over at once: a task's worth, in whole blocks. */
export function chunkOf(taskBytes: number, blockSize: number): number {
  return Math.max(blockSize, Math.floor(taskBytes / blockSize) * blockSize);
}

/** Result room for the largest task. */
export function resultBytes(taskBytes: number, blockSize: number): number {
  // A task closes once it holds `taskBytes`; the step that gets it there adds at most a run of blocks (a chunk,
  // or a run the main thread carries), a tail and the fragment block that tail closes.
  const most = taskBytes + Math.max(chunkOf(taskBytes, blockSize), MAX_CARRIED_RUN) + 2 * blockSize;
  const items = TASK_ITEMS + 2;
  return resultCapacity(most, Math.ceil(most / blockSize) + items, items);
}

/**
 * Result slabs a pipeline needs: a slab is held from submission until its write is done, and both the tasks in
 * flight and the writes queued are bounded by the window (one more write is queued before the window waits).
 */
export function slabsFor(window: number): number {
  return 2 * window + 1;
}
