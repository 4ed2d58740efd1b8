/**
 * The steps of the ProxylessNAS search: a weight step on a train batch (one sampled path per
 * block), a gradient architecture step (binarized gates, cost loss) or a REINFORCE one on a
 * validation batch, and the validation accuracy of fixed choices. Every random draw is keyed by
 * (seed, phase, key), so a resumed run repeats exactly what an uninterrupted one does.
 */
import type { Backend } from '../backend/index.js';
import { augment } from '../data/cifar10.js';
import { type BatchSource, resizeNearest } from '../data/batch-stream.js';
import { rescaleTwoPath, sampleGates } from '../kernels/binarize.js';
import { type CostModel, archCost } from '../mobilenet/cost/model.js';
import { accuracy } from '../mobilenet/train.js';
import { type AlphaAdam, TrainingDivergedError, type WeightSgd } from '../nn/optim.js';
import { Tape } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seed.js';
import { archGradients, reinforceUpdate } from './arch-grad.js';
import { reinforceReward } from './objective.js';
import type { ProxylessSearchConfig } from './search-config.js';
import type { ProxylessSupernet } from './supernet.js';

/** What the steps work on; the search owns it and keeps α between steps. */
export interface SearchParts {
  backend: Backend;
  cfg: ProxylessSearchConfig;
  net: ProxylessSupernet;
  cost: CostModel | null;
  sgd: WeightSgd;
  adam: AlphaAdam;
  trainStream: BatchSource;
  valStream: BatchSource;
}

export interface ArchStepResult {
  alpha: Float32Array[];
  /** CE with the cost term (gradient mode) or the mean reward (REINFORCE). */
  objective: number;
  ce: number;
}

/**
 * A batch as the layout's input. An image folder is decoded at the layout's size already; CIFAR's
 * in-memory 32×32 images are upscaled (nearest) for the 224 layout, a smoke run without ImageNet data.
 */
function upload(p: SearchParts, stream: BatchSource, x: Float32Array, n: number) {
  const s = p.cfg.layout.inputSize;
  return p.backend.upload(resizeNearest(x, n, 3, stream.geometry.size, s), [n, 3, s, s]);
}

/** A batch's images and labels; the images are disposed again when the labels' upload throws. */
function uploadBatch(p: SearchParts, stream: BatchSource, x: Float32Array, b: { n: number; y: Float32Array }) {
  const xt = upload(p, stream, x, b.n);
  try {
    return { x: xt, y: p.backend.upload(b.y) };
  } catch (e) {
    xt.dispose();
    throw e;
  }
}

/**
 * α after an Adam update must stay finite: otherwise gate sampling fails far from the cause. A
 * validation loss `ce`, or α's gradients `grads`, that are not finite mean the weights diverged
 * (their last updates, with --lr, made them so; Adam turns finite gradients into steps of about its
 * rate): that flag is named, not --arch-lr.
 */
function checkAlpha(alpha: Float32Array[], key: number, p: SearchParts, ce: number, grads: readonly number[][] = []): void {
  const weights = { value: p.cfg.weightLr, flag: '--lr' };
  if (!Number.isFinite(ce))
    throw new TrainingDivergedError(`architecture step ${key + 1}`, `the validation loss is ${ce}`, weights);
  if (grads.some((g) => g.some((v) => !Number.isFinite(v))))
    throw new TrainingDivergedError(
      `architecture step ${key + 1}`,
      "the architecture gradients are not finite (the network's weights diverged)",
      weights,
    );
  if (alpha.some((a) => a.some((v) => !Number.isFinite(v)))) {
    throw new TrainingDivergedError(`architecture step ${key + 1}`, 'the architecture logits α are not finite', {
      value: p.cfg.arch.lr,
      flag: '--arch-lr',
    });
  }
}

/**
 * One weight step on a train batch with one sampled path per block: exactly a step of the
 * stand-alone network of that path (test/proxyless/path-equivalence.test.ts). Returns loss,
 * accuracy and the path (the active candidate per block).
 */
export async function weightStep(
  p: SearchParts,
  alpha: readonly Float32Array[],
  lr: number,
  key: number,
): Promise<{ loss: number; acc: number; choices: number[] }> {
  const rng = new Rng(mixSeed(p.cfg.seed, 3, key));
  const b = await p.trainStream.batchAt(key);
  const xs = p.cfg.augment ? augment(b.x, b.n, rng, p.trainStream.geometry) : b.x;
  const gates = alpha.map((a) => sampleGates(a, rng, 1));
  const backend = p.backend;
  const t = new Tape(backend);
  const { x, y } = uploadBatch(p, p.trainStream, xs, b);
  try {
    const { logits } = p.net.forward(t, t.input(x), gates);
    // The (label-smoothed) loss on the device: the step records forward, backward and update
    // without waiting, and reads the loss with the logits at the end.
    const loss = t.crossEntropy(logits, y, 1, p.cfg.labelSmoothing);
    t.backward(loss);
    p.sgd.step(lr);
    p.net.zeroGrad();
    const [l, lg] = await backend.readMany([loss.value, logits.value]);
    return { loss: l[0], acc: accuracy(lg, b.y), choices: gates.map((g) => g.active) };
  } finally {
    t.dispose();
    x.dispose();
    y.dispose();
  }
}

/** One gradient-based architecture step on a validation batch. */
export async function gradientArchStep(p: SearchParts, alpha: Float32Array[], key: number): Promise<ArchStepResult> {
  const cfg = p.cfg;
  const rng = new Rng(mixSeed(cfg.seed, 4, key));
  const b = await p.valStream.batchAt(key);
  const gates = alpha.map((a) => sampleGates(a, rng, cfg.paths));
  const backend = p.backend;
  // Gate gradients need dL/dy of the blocks only: no weight-gradient convolutions, and no input
  // gradient (each block's output is where the backward starts to matter: ChoiceLayer.forward).
  const t = new Tape(backend, { paramGrads: 'none' });
  const { x, y } = uploadBatch(p, p.valStream, b.x, b);
  let ce: number;
  let gateGrads: Array<number[] | null>;
  try {
    const { logits, records } = p.net.forward(t, t.input(x), gates, { inactive: cfg.paths === 2 });
    const loss = t.crossEntropy(logits, y);
    t.backward(loss);
    p.net.zeroGrad(); // weights do not learn from validation data
    const g = await p.net.gateGradientsWith(records, cfg.gateGrads, [loss.value]);
    gateGrads = g.grads;
    ce = g.values[0][0];
  } finally {
    t.dispose();
    x.dispose();
    y.dispose();
  }
  const { grads, frozen, objective } = archGradients(cfg, p.cost, alpha, gates, gateGrads, ce);
  const old = cfg.paths === 2 ? gates.map((g, bIdx) => g.involved.map((i) => alpha[bIdx][i])) : null;
  // A frozen block has no gradient: Adam skips it whole (α, moments and step count), as PyTorch's
  // Adam skips the grad None that the authors' set_arch_param_grad leaves there.
  const next = await p.adam.update(
    alpha,
    grads,
    frozen.map((f) => !f),
  );
  gates.forEach((g, bIdx) => {
    if (old && !frozen[bIdx]) rescaleTwoPath(next[bIdx], g.involved, old[bIdx]);
  });
  checkAlpha(next, key, p, ce, grads);
  return { alpha: next, objective, ce };
}

/**
 * One REINFORCE architecture step, as ProxylessNAS' rl_update_step: one validation batch, every
 * sampled architecture evaluated on it (common random numbers: the rewards differ by the
 * architectures, not by the images), reward acc·(T/cost)^w, policy gradient on α against the
 * moving baseline (reinforceUpdate). Returns the new baseline too.
 */
export async function reinforceArchStep(
  p: SearchParts,
  alpha: Float32Array[],
  baseline: number | null,
  key: number,
): Promise<ArchStepResult & { baseline: number }> {
  const cfg = p.cfg;
  const cost = p.cost!;
  const rng = new Rng(mixSeed(cfg.seed, 5, key));
  const K = cfg.reinforceSamples;
  const target = cfg.costLoss?.target ?? cost.fixed * 2;
  const samples: Array<{ choices: number[]; reward: number; ce: number }> = [];
  const backend = p.backend;
  const b = await p.valStream.batchAt(key);
  const { x, y } = uploadBatch(p, p.valStream, b.x, b);
  try {
    for (let k = 0; k < K; k++) {
      const gates = alpha.map((a) => sampleGates(a, rng, 1));
      const t = new Tape(backend, { noGrad: true });
      try {
        const { logits } = p.net.forward(t, t.input(x), gates);
        const loss = t.crossEntropy(logits, y);
        const [lg, l] = await backend.readMany([logits.value, loss.value]);
        const choices = gates.map((g) => g.active);
        samples.push({
          choices,
          reward: reinforceReward(accuracy(lg, b.y), archCost(cost, choices), target, cfg.reinforceW),
          ce: l[0],
        });
      } finally {
        t.dispose();
      }
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  const u = reinforceUpdate(alpha, samples, baseline, cfg.baselineDecay);
  const next = await p.adam.update(alpha, u.grads);
  const ce = samples.reduce((s, x) => s + x.ce, 0) / K;
  checkAlpha(next, key, p, ce);
  return { alpha: next, baseline: u.baseline, objective: u.meanReward, ce };
}

/** The validation batches evaluateChoices draws: batchAt(EVAL_BATCH_BASE + k), k < batches. */
const EVAL_BATCH_BASE = 1_000_000;

/**
 * The distinct validation images evaluateChoices(p, _, batches) sees: fewer than batches x the
 * batch size when the validation split is smaller (its batches then repeat images).
 */
export function evaluatedImages(p: SearchParts, batches: number): number {
  const seen = new Set<number>();
  for (let k = 0; k < batches; k++) for (const i of p.valStream.indicesAt(EVAL_BATCH_BASE + k)) seen.add(i);
  return seen.size;
}

/** Validation accuracy of fixed choices, batch-statistics BN (batches past any the search draws). */
export async function evaluateChoices(p: SearchParts, choices: readonly number[], batches: number): Promise<number> {
  const gates = choices.map((a) => ({ active: a, inactive: [], involved: [a] }));
  let acc = 0;
  for (let k = 0; k < batches; k++) {
    const b = await p.valStream.batchAt(EVAL_BATCH_BASE + k);
    const t = new Tape(p.backend, { noGrad: true });
    const x = upload(p, p.valStream, b.x, b.n);
    try {
      const { logits } = p.net.forward(t, t.input(x), gates);
      acc += accuracy(await logits.value.read(), b.y);
    } finally {
      t.dispose();
      x.dispose();
    }
  }
  return acc / batches;
}
