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
  /** The classifier's outputs: the runner refuses labels outside [0, classes) (unchecked when absent). */
  classes?: number;
}

/** One of a network's ReLU records within a stacked network's tape. */
export interface StackedRelu {
  /** Index into the stacked tape's relus (network g's slice of that ReLU is its record). */
  index: number;
  /** Whether its own network's record has a gradient (false: a dead end, or no path from the input). */
  grad: boolean;
}

/**
 * Several networks of one skeleton run as one, their activations stacked along channels (network
 * g owns the g-th block of every tensor's channels): a group costs about one network's dispatches.
 */
export interface StackedNets {
  readonly groups: number;
  /** Logits [N * groups, K]: row n * groups + g is network g's for image n. */
  forward(t: Tape, x: Var): Var;
  /** Network g's ReLU records in its own network's order (after a forward on a recording tape). */
  relusOf(g: number): StackedRelu[];
  /** Parameters of network g's own network. */
  paramCount(g: number): number;
  dispose(): void;
}

/** Builds a stack of architectures (every network with weights from `new Rng(seed)`, as each alone would be). */
export interface StackedFactory {
  readonly groups: number;
  /** Per network, what the 'flops' proxy reports (millions). */
  readonly flopsM: readonly number[];
  /** Every network's classifier outputs (as NetFactory.classes). */
  readonly classes?: number;
  build(init: InitMode, seed: number): StackedNets;
}
