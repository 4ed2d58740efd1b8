/**
 * The buffer pool a `wgnas train` run will hold, measured before it trains (cli/training-memory.ts):
 * a fresh network of the run's (its own Rng from the seed, as buildNetwork gives the run's: the
 * run's network, weights and batches are untouched) takes one SGD step and one evaluation forward
 * on zero images at batches 1 and 2, each on a device of its own, the bytes its pool held after.
 */
import type { Backend, Tensor } from '../backend/index.js';
import { type BatchLine, bytesAt, probeLine } from '../backend/pool-probe.js';
import type { ExportNetwork } from '../export/index.js';
import { BnRunningStats } from '../nn/bn-running.js';
import type { ScorableNet } from '../nn/scorable.js';
import { Tape } from '../nn/tape.js';
import { buildNetwork } from './network.js';
import { type TrainData, Trainer } from './trainer.js';
import { evalBatchOf, type TrainSettings } from './settings.js';

export interface TrainMemoryProbe {
  /** After an SGD step (weights, gradients, momentum, activations). */
  step: BatchLine;
  /** After an evaluation forward (weights, running statistics, activations). */
  evaluate: BatchLine;
}

/** Running statistics at their first values (mean 0, var 1) for every BN: evaluation without a step first. */
class InitialBnStats extends BnRunningStats {
  override statsFor(name: string, channels: number, eps: number): { mean: Tensor; invStd: Tensor } {
    this.get(name, channels);
    return super.statsFor(name, channels, eps);
  }
}

export async function probeTrainMemory(
  /** A new CPU backend as the run's (its threads): each probe runs on its own. */
  fresh: () => Promise<Backend>,
  net: ExportNetwork,
  data: TrainData,
  s: TrainSettings,
): Promise<TrainMemoryProbe> {
  const { size } = data;
  const xsOf = (n: number) => new Float32Array(n * 3 * size * size);
  // Each on its own device, whose pool then holds what the work took from the system (in use and
  // the idle buffers of its sizes): the run's device is untouched.
  const heldAfter = async (work: (backend: Backend, trainer: Trainer, model: ScorableNet) => Promise<void>) => {
    const backend = await fresh();
    const model = buildNetwork(backend, net, s.seed);
    const trainer = new Trainer(backend, model, data, { ...s, batchSize: 2 });
    try {
      await work(backend, trainer, model);
      await backend.sync();
      return backend.stats().bytesAllocated;
    } finally {
      trainer.dispose();
      model.dispose();
      backend.dispose();
    }
  };
  const step = await probeLine((n) =>
    heldAfter(async (_, trainer) => {
      await trainer.step(xsOf(n), new Float32Array(n), s.lr, 'the memory probe');
    }),
  );
  const evaluate = await probeLine((n) =>
    heldAfter(async (backend, _, model) => {
      const bn = new InitialBnStats(backend);
      const x = backend.upload(xsOf(n), [n, 3, size, size]);
      const t = new Tape(backend, { noGrad: true, bnEval: bn });
      try {
        await model.forward(t, t.input(x)).logits.value.read();
      } finally {
        t.dispose();
        x.dispose();
        bn.dispose();
      }
    }),
  );
  return { step, evaluate };
}

/** The splits a run evaluates: the test split and --val's. */
const evalSplits = (data: TrainData) => [data.test, ...(data.val ? [data.val] : [])];

/** The batches one evaluation of `count` images at `batch` runs (a partial last one too). */
function evalBatches(count: number, batch: number): number[] {
  const b = Math.min(batch, count);
  return count % b ? [b, count % b] : [b];
}

/**
 * The pool's bytes for the run: its steps' peak at the batch, plus the activations of each other
 * batch an evaluation runs (the test split's and --val's, at Trainer.evaluate's batch, and their
 * partial last batches), whose buffers of other sizes the pool keeps beside the steps'.
 */
export function trainPoolBytes(p: TrainMemoryProbe, data: TrainData, s: TrainSettings): number {
  const evalBatch = evalBatchOf(s);
  const sizes = new Set(evalSplits(data).flatMap((ds) => evalBatches(ds.count, evalBatch)));
  sizes.delete(s.batchSize);
  const slope = Math.max(0, p.evaluate.at2 - p.evaluate.at1);
  let bytes = bytesAt(p.step, s.batchSize);
  for (const b of sizes) bytes += slope * b;
  return bytes;
}

/** The largest evaluation batch of the run (its decoded images wait on the JS heap, two at once). */
export function largestEvalBatch(data: TrainData, s: TrainSettings): number {
  const evalBatch = evalBatchOf(s);
  return Math.max(...evalSplits(data).map((ds) => Math.min(evalBatch, ds.count)));
}
