/**
 * A buffer pool's bytes as a line in the batch, from two tiny batches: a step's weights, gradients
 * and optimiser state are fixed, its activations and their gradients in proportion to the batch.
 * For a memory check before a run (cli/training-memory.ts): each point is what a throwaway CPU
 * device's pool held after the work (in use and the idle buffers of its sizes; the CPU pool returns
 * none while it lives), not a peak in use, which varies with when the worker freed each tensor.
 */

/** The pool's bytes at batches 1 and 2. */
export interface BatchLine {
  at1: number;
  at2: number;
}

/** The line's bytes at batch n (no less than at batch 1: a slope under 0 is rounding). */
export function bytesAt(line: BatchLine, n: number): number {
  return Math.round(line.at1 + (n - 1) * Math.max(0, line.at2 - line.at1));
}

/** The line of `bytesAfter(n)` from n = 1 and 2 (each its own device: the bytes are the work's own). */
export async function probeLine(bytesAfter: (n: number) => Promise<number>): Promise<BatchLine> {
  const at1 = await bytesAfter(1);
  return { at1, at2: await bytesAfter(2) };
}
