/**
 * What a zero-cost proxy needs of a network, whatever builds it (NAS-Bench-201 cells, AutoSpace and
 * ProxylessNAS architectures): parameters, a forward on the tape, and counts.
 */
import type { Rng } from '../util/rng.js';
import type { InitMode } from './init.js';
import type { Param, Tape, Var } from './tape.js';

export interface ScorableNet {
  readonly params: readonly Param[];
  paramCount(): number;
  /** `features` is the last feature map before global pooling (Zen-score reads it). */
  forward(t: Tape, x: Var): { logits: Var; features: Var };
  /**
   * Networks made of a chain of blocks (NAS-Bench-201: stem, cells, reduction blocks) expose them:
   * AZ-NAS reads every block's output and each block's own input-output Jacobian.
   */
  readonly blockCount?: number;
  forwardBlock?(t: Tape, i: number, x: Var): Var;
  zeroGrad(): void;
  dispose(): void;
}

/** Builds fresh copies of one architecture (Zen-score wants a Gaussian-initialised copy). */
export interface NetFactory {
  build(init: InitMode, rng: Rng): ScorableNet;
  /** Reported by the 'flops' proxy, in millions. */
  flopsM: number;
}
