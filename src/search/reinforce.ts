/**
 * REINFORCE (Williams 1992) over the space's categorical encoding: one independent softmax policy
 * per choice, reward = score, advantage = reward - moving-average baseline, gradient ascent on the
 * logits with Adam (default) or plain SGD.
 */
import type { SearchSpace } from '../spaces/space.js';
import type { Rng } from '../util/rng.js';
import { softmax } from '../util/softmax.js';
import { checkSearchOptions, Evaluator, type Scorer, type SearchOptions, type SearchResult } from './types.js';

export interface ReinforceOptions<A> extends SearchOptions<A> {
  /** Default 0.1 (with SGD the step also scales with the reward units). */
  learningRate?: number;
  optimizer?: 'adam' | 'sgd';
  /** Baseline <- decay * baseline + (1 - decay) * mean batch reward. Default 0.9. */
  baselineDecay?: number;
  /** Weight of an entropy bonus that slows premature collapse. Default 0. */
  entropyWeight?: number;
}

export interface ReinforceResult<A> extends SearchResult<A> {
  /** Final per-choice probabilities. */
  policy: number[][];
}

function sampleCategorical(p: number[], rng: Rng): number {
  let u = rng.next();
  for (let i = 0; i < p.length - 1; i++) {
    u -= p[i];
    if (u < 0) return i;
  }
  return p.length - 1;
}

export async function reinforce<A>(
  space: SearchSpace<A>,
  scorer: Scorer<A>,
  opts: ReinforceOptions<A>,
): Promise<ReinforceResult<A>> {
  const { batchSize } = checkSearchOptions('reinforce', opts);
  const lr = opts.learningRate ?? 0.1;
  const decay = opts.baselineDecay ?? 0.9;
  const entW = opts.entropyWeight ?? 0;
  const useAdam = (opts.optimizer ?? 'adam') === 'adam';
  if (!(lr > 0)) throw new RangeError(`reinforce: learningRate must be > 0, got ${lr}`);
  if (!(decay >= 0 && decay < 1)) throw new RangeError(`reinforce: baselineDecay must be in [0, 1), got ${decay}`);
  const rng = opts.rng;
  const sizes = space.choiceSizes;
  const logits = sizes.map((k) => new Float64Array(k));
  const m1 = sizes.map((k) => new Float64Array(k));
  const m2 = sizes.map((k) => new Float64Array(k));
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  let t = 0;
  let baseline: number | undefined;
  const ev = new Evaluator(space, scorer, opts);

  while (ev.remaining > 0) {
    const n = Math.min(batchSize, ev.remaining);
    const probs = logits.map((l) => softmax(l));
    const choices = Array.from({ length: n }, () => probs.map((p) => sampleCategorical(p, rng)));
    const scores = await ev.evaluate(choices.map((c) => space.decode(c)));
    // NaN/inf rewards carry no usable signal: leave them out of the update.
    const ok = scores.map((s) => Number.isFinite(s));
    const rewards = scores.filter((_, i) => ok[i]);
    if (!rewards.length) continue;
    const batchMean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
    baseline ??= batchMean;
    // grad of sum_b adv_b * log pi(a_b) w.r.t. logits of choice j: adv_b * (onehot(a_bj) - p_j)
    const grads = sizes.map((k) => new Float64Array(k));
    choices.forEach((c, b) => {
      if (!ok[b]) return;
      const adv = scores[b] - baseline!;
      c.forEach((a, j) => {
        const g = grads[j];
        const p = probs[j];
        for (let i = 0; i < p.length; i++) g[i] += (adv * ((i === a ? 1 : 0) - p[i])) / rewards.length;
      });
    });
    if (entW > 0) {
      // d(-sum p log p)/d logit_i = -p_i (log p_i + H)
      probs.forEach((p, j) => {
        const H = -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0);
        for (let i = 0; i < p.length; i++) grads[j][i] += entW * -p[i] * ((p[i] > 0 ? Math.log(p[i]) : 0) + H);
      });
    }
    t++;
    logits.forEach((l, j) => {
      for (let i = 0; i < l.length; i++) {
        const g = grads[j][i];
        if (useAdam) {
          m1[j][i] = beta1 * m1[j][i] + (1 - beta1) * g;
          m2[j][i] = beta2 * m2[j][i] + (1 - beta2) * g * g;
          const mh = m1[j][i] / (1 - beta1 ** t);
          const vh = m2[j][i] / (1 - beta2 ** t);
          l[i] += (lr * mh) / (Math.sqrt(vh) + eps);
        } else l[i] += lr * g;
      }
    });
    baseline = decay * baseline + (1 - decay) * batchMean;
  }
  return { ...ev.result(), policy: logits.map((l) => softmax(l)) };
}
