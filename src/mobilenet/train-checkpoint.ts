/**
 * The state of trainFixed's short training, saved every few steps so a killed run continues where it
 * was (search --space-file --evaluated E --train-steps N): the weights, the SGD momentum, the steps
 * done and their losses. Batches and augmentation are pure in (seed, step) and BN normalises with
 * each batch's statistics, so that is the whole state: a resumed training ends bit for bit as an
 * uninterrupted one. A diverging training's non-finite losses are kept as the strings 'NaN',
 * 'Infinity' and '-Infinity' (JSON has no such numbers), so its resume ends as it would have too.
 */
import type { Backend, Tensor } from '../backend/index.js';
import {
  applyCheckpoint,
  CheckpointError,
  type CheckpointState,
  isCount,
  matchCheckpoint,
  readCheckpointBinaries,
  saveCheckpoint,
} from '../nn/checkpoint.js';
import type { Param } from '../nn/tape.js';
import type { RunSettings } from '../util/run-settings.js';

/** state.json's `kind` of these checkpoints. */
export const FIXED_TRAIN_KIND = 'wgnas-train-steps';

export interface FixedTrainCheckpoint {
  /** The checkpoint directory (src/nn/checkpoint.ts). */
  dir: string;
  /** Steps between saves; the last step is saved too (a kill in the evaluation only evaluates again). */
  every: number;
  /** What the training depends on, by flag: recorded with each save (the caller checks it on resume). */
  settings: RunSettings;
  /** The state to continue, read and checked by the caller; null trains from the first step. */
  resume: CheckpointState | null;
}

/** Steps between saves of an N-step training: a tenth of it, so a kill loses at most that. */
export const saveEvery = (steps: number): number => Math.max(1, Math.ceil(steps / 10));

/** Non-finite losses by the text saveFixedTrain writes for them (String(x)). */
const NON_FINITE = new Map<unknown, number>([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
]);

/** A saved loss as it was: a number, or a non-finite one's text; undefined for anything else. */
const savedLoss = (l: unknown): number | undefined => (typeof l === 'number' ? l : NON_FINITE.get(l));

export function saveFixedTrain(
  ck: FixedTrainCheckpoint,
  params: readonly Param[],
  momentum: Map<Param, Tensor>,
  losses: readonly number[],
): Promise<void> {
  return saveCheckpoint(ck.dir, params, momentum, {
    kind: FIXED_TRAIN_KIND,
    settings: ck.settings,
    stepsDone: losses.length,
    losses: losses.map((l) => (Number.isFinite(l) ? l : String(l))),
  });
}

/** Loads a checked state into the network and optimizer; returns the losses of the steps it had done. */
export function restoreFixedTrain(
  backend: Backend,
  state: CheckpointState,
  params: readonly Param[],
  momentum: Map<Param, Tensor>,
  steps: number,
): number[] {
  const { stepsDone, losses } = state.meta as { stepsDone?: unknown; losses?: unknown };
  const ok =
    isCount(stepsDone) &&
    stepsDone <= steps &&
    Array.isArray(losses) &&
    losses.length === stepsDone &&
    losses.every((l) => savedLoss(l) !== undefined);
  if (!ok) throw new CheckpointError(`${state.path}/state.json: stepsDone or losses missing or inconsistent (of ${steps} steps)`);
  const ck = readCheckpointBinaries(state);
  applyCheckpoint(backend, ck, params, momentum, matchCheckpoint(ck, params));
  return (losses as unknown[]).map((l) => savedLoss(l)!);
}
