/**
 * What a training run on the CPU backend (train, proxyless, evolve-space) will hold, measured before
 * its work: one probe step of the run's own network at its own resolution at batches 1 and 2 (a
 * fresh network and optimiser, the run's RNG untouched), each on a throwaway device whose pool then
 * holds what the step took from the system, extrapolated linearly to the run's batch. A step's tensors are the weights, gradients and
 * momentum (fixed) plus activations and their gradients (in proportion to the batch), so two points
 * give the line, for any network family, without an analytic plan of each. With the process as it
 * is now (Node, the addon, the images it decoded up front: its resident size, at least
 * PROCESS_BASE_BYTES), the minibatches it decodes ahead, and the pool's slack, the sum goes to
 * memoryVerdict as score's estimate does: refused above the machine, a warning above what is
 * available now. On a GPU the pool is the device's memory, which WebGPU does not report: no check.
 */
import { PROCESS_BASE_BYTES } from '../zeroshot/process-memory.js';
import { checkMemory } from './memory-check.js';
import type { Io } from './run.js';

/**
 * The probe reads what a pool held after one step; a run holds somewhat more (which freed buffer a
 * tensor reuses depends on when the worker released it, and a run meets more sizes): up to 1.16x
 * the probe's line (train on an NB201 net at batches 8-64: 1.07-1.14x; proxyless 0.97-1.16x;
 * evolve-space 0.73-0.97x; test/cli/training-memory.test.ts).
 */
export const TRAINING_POOL_SLACK = 1.2;

/** Bytes of `count` images of `size`x`size` RGB as f32 (a decoded minibatch on the JS heap). */
export const imageBytes = (count: number, size: number): number => count * 3 * size * size * 4;

/**
 * The process's peak: what it held before the probe (`residentBytes`, its resident size, at least
 * PROCESS_BASE_BYTES: Node, the addon and the images decoded up front) plus the pool's (the probe's `poolBytes` with the slack)
 * plus `hostBytes` (minibatches decoded ahead of the device).
 */
export function trainingProcessBytes(poolBytes: number, hostBytes: number, residentBytes: number): number {
  return Math.max(PROCESS_BASE_BYTES, residentBytes) + Math.round(TRAINING_POOL_SLACK * poolBytes) + hostBytes;
}

/**
 * Refuses (UsageError, score's refusal) or warns for a training run's estimated peak, in score's
 * words: '<flag>: up to about X at <at>, more than this machine's Y: <fewer>'.
 */
export function checkTrainingMemory(o: { flag: string; eachBytes: number; at: string; fewer: string }, io: Io): void {
  checkMemory({ flag: o.flag, n: 1, noun: 'training process', eachBytes: o.eachBytes, at: o.at, fewer: () => o.fewer }, io);
}
