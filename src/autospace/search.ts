/**
 * Zero-shot search over a cell space (learned by AutoSpace or hand-designed) under a MAdds budget,
 * with the generic strategies of src/search and any proxy of the registry; and the short-training
 * check of a found architecture. The same code runs in both spaces, which is what the AutoSpace
 * evidence compares.
 */
import type { Backend } from '../backend/index.js';
import type { SplitImages } from '../data/batch-stream.js';
import { archMadds } from '../mobilenet/madds.js';
import type { CellSpace } from '../mobilenet/space.js';
import { archJson, spaceBn } from '../mobilenet/space-file.js';
import { type TrainOptions, type TrainResult, trainFixed } from '../mobilenet/train.js';
import { randomSearch, regularizedEvolution, type Scorer } from '../search/index.js';
import { Rng } from '../util/rng.js';
import { proxyBatch } from '../proxies/batch.js';
import type { ProxyBatch } from '../proxies/index.js';
import { scoreArch } from './cell-arch-net.js';
import { type LatencyLimit, cellSearchSpace } from './search-space.js';

export interface CellSearchOptions {
  proxy: string;
  strategy: 'random' | 'evolution';
  /** Architectures proposed. */
  budget: number;
  budgetMadds?: number;
  /** Lower end of the MAdds band (architectures cheaper than this are not proposed). */
  minMadds?: number;
  /** Latency ceiling on the measured cells (measuredCost): equal latency as well as equal MAdds. */
  latencyLimit?: LatencyLimit;
  batchSize: number;
  /** The proxies' minibatch (a --dataset's); default: the bundled CIFAR-10 subset's, drawn by the seed. */
  batch?: ProxyBatch;
  seed: number;
  populationSize?: number;
  sampleSize?: number;
  onScored?: (done: number, budget: number, timeMs: number) => void;
  /**
   * Wraps each evaluation (a proposal not scored before): `compute` scores it. A resumed run hands
   * back the score it recorded instead (search --space-file --resume), and the seeded strategy, fed the
   * same scores, retraces its proposals exactly.
   */
  evaluate?: (choices: number[], compute: () => Promise<number>) => Promise<number>;
}

export interface CellSearchResult {
  choices: number[];
  score: number;
  madds: number;
  arch: Record<string, unknown>;
  evaluations: number;
  /** Every proposal in order: choices, score, MAdds. */
  history: Array<{ choices: number[]; score: number; madds: number }>;
  secondsPerArch: number;
}

export async function searchCellSpace(backend: Backend, space: CellSpace, o: CellSearchOptions): Promise<CellSearchResult> {
  const ss = cellSearchSpace(space, o.budgetMadds ?? Infinity, o.minMadds ?? 0, o.latencyLimit);
  const batch = o.batch ?? proxyBatch(o.batchSize, o.seed);
  let done = 0;
  let scoreMs = 0;
  const compute = async (a: number[]) => {
    const t0 = performance.now();
    const r = await scoreArch(backend, space, a, [o.proxy], batch, o.seed);
    const ms = performance.now() - t0;
    scoreMs += ms;
    const v = r.scores[o.proxy];
    if (v === undefined) throw new Error(`proxy '${o.proxy}' produced no score`);
    o.onScored?.(++done, o.budget, ms);
    return v;
  };
  const score: Scorer<number[]> = async (archs) => {
    const out: number[] = [];
    for (const a of archs) out.push(o.evaluate ? await o.evaluate(a, () => compute(a)) : await compute(a));
    return out;
  };
  const rng = new Rng(o.seed);
  const res =
    o.strategy === 'random'
      ? await randomSearch(ss, score, { budget: o.budget, rng })
      : await regularizedEvolution(ss, score, {
          budget: o.budget,
          rng,
          populationSize: o.populationSize ?? 8,
          sampleSize: o.sampleSize ?? 3,
        });
  return {
    choices: res.best,
    score: res.bestScore,
    madds: archMadds(space, res.best),
    // The network found is built (scored, trained, exported) at the BN its space records.
    arch: archJson(space, res.best, spaceBn(space)),
    evaluations: res.evaluations,
    history: res.history.map((h) => ({ choices: h.arch, score: h.score, madds: archMadds(space, h.arch) })),
    // Over the architectures this run scored (a resume replays the others).
    secondsPerArch: scoreMs / 1000 / Math.max(1, done),
  };
}

export interface ShortTrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  evalImages: number;
  onStep?: (step: number, loss: number) => void;
  checkpoint?: TrainOptions['checkpoint'];
}

/** Trains one architecture of the space from scratch for a few steps (at its BN eps); test accuracy on held-out images. */
export function trainCellArch(
  backend: Backend,
  space: CellSpace,
  choices: readonly number[],
  train: SplitImages,
  test: SplitImages,
  o: ShortTrainOptions,
): Promise<TrainResult> {
  return trainFixed(backend, space.layout, choices, train, test, {
    steps: o.steps,
    batchSize: o.batchSize,
    lr: o.lr,
    weightDecay: 4e-5,
    seed: o.seed,
    augment: true,
    evalImages: o.evalImages,
    onStep: o.onStep,
    cells: space.cells,
    bnEps: spaceBn(space).eps,
    checkpoint: o.checkpoint,
  });
}
