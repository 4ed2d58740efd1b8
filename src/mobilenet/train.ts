/**
 * Trains one fixed architecture from scratch (the network a search derived, or a baseline) and
 * measures accuracy on held-out images: the "does the searched net train" check.
 */
import type { Backend } from '../backend/index.js';
import { batchSource, checkSplitClasses, isStreamed, resizeNearest, type SplitImages } from '../data/batch-stream.js';
import { augment, batchOf } from '../data/cifar10.js';
import { Prefetcher } from '../data/image-dataset.js';
import { cosineLr } from '../kernels/optim.js';
import { countCorrect } from '../nn/loss.js';
import { WeightSgd } from '../nn/optim.js';
import { Tape } from '../nn/tape.js';
import { killPoint } from '../util/durable.js';
import { Rng } from '../util/rng.js';
import { mixSeed } from '../util/seed.js';
import type { Cell } from './cell.js';
import { FixedNet } from './fixed-net.js';
import type { MobileNetLayout } from './layout.js';
import { spaceFromLayout } from './space-file.js';
import { type FixedTrainCheckpoint, restoreFixedTrain, saveFixedTrain } from './train-checkpoint.js';

export interface TrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
  augment: boolean;
  /** Test images the final accuracy is over: the first min(evalImages, test.count), each counted once. */
  evalImages: number;
  onStep?: (step: number, loss: number) => void;
  /** Candidate cells per layer that `choices` index (a cell space); default: the layout's MBConv candidates. */
  cells?: readonly (readonly Cell[])[];
  /** Every BN's eps: the search's (its supernet's, or its space's), so the check trains the network it found; default 1e-5. */
  bnEps?: number;
  /** Save the training's state every few steps into a directory, and continue a saved one (train-checkpoint.ts). */
  checkpoint?: FixedTrainCheckpoint;
}

export interface TrainResult {
  finalTrainLoss: number;
  testAcc: number;
  /** Test images testAcc is over. */
  testImages: number;
  msPerStep: number;
}

export async function trainFixed(
  backend: Backend,
  layout: MobileNetLayout,
  choices: readonly number[],
  train: SplitImages,
  test: SplitImages,
  o: TrainOptions,
): Promise<TrainResult> {
  checkSplitClasses(train, layout.classes, 'trainFixed', 'train');
  checkSplitClasses(test, layout.classes, 'trainFixed', 'test');
  if (!(Number.isInteger(o.evalImages) && o.evalImages >= 1))
    throw new RangeError(`trainFixed: evalImages ${o.evalImages} must be a positive integer`);
  const net = FixedNet.fromChoices(
    backend,
    layout,
    o.cells ?? spaceFromLayout(layout).cells,
    choices,
    new Rng(mixSeed(o.seed, 77)),
    'pytorch',
    o.bnEps,
  );
  const sgd = new WeightSgd(backend, net.params, { momentum: 0.9, nesterov: true, weightDecay: o.weightDecay });
  const stream = batchSource(train, o.batchSize, mixSeed(o.seed, 78));
  const from = stream.geometry.size;
  const S = layout.inputSize;
  const ck = o.checkpoint;
  const t0 = performance.now();
  try {
    const losses = ck?.resume ? restoreFixedTrain(backend, ck.resume, net.params, sgd.buffers, o.steps) : [];
    const start = losses.length;
    for (let s = start; s < o.steps; s++) {
      const rng = new Rng(mixSeed(o.seed, 79, s));
      const b = await stream.batchAt(s);
      const xs = o.augment ? augment(b.x, b.n, rng, stream.geometry) : b.x;
      const t = new Tape(backend);
      const x = backend.upload(resizeNearest(xs, b.n, 3, from, S), [b.n, 3, S, S]);
      const y = backend.upload(b.y);
      try {
        const { logits } = net.forward(t, t.input(x));
        const loss = t.crossEntropy(logits, y);
        t.backward(loss);
        sgd.step(cosineLr(o.lr, s, o.steps));
        net.zeroGrad();
        const l = (await loss.value.read())[0];
        losses.push(l);
        o.onStep?.(s + 1, l);
      } finally {
        t.dispose();
        x.dispose();
        y.dispose();
      }
      killPoint('train-fixed.step');
      if (ck && (s + 1 === o.steps || (s + 1) % ck.every === 0)) await saveFixedTrain(ck, net.params, sgd.buffers, losses);
    }
    const msPerStep = (performance.now() - t0) / Math.max(1, o.steps - start);
    // Batch-statistics BN at evaluation too (the tape has no running averages), batches of
    // o.batchSize over the first n test images, each counted once (whole batches only, 1000 images
    // at batch 32 were 992). A last partial batch is the n - evalBatch.. n window, of which only the
    // images not counted before count: every BN normalises over evalBatch images.
    const n = Math.min(o.evalImages, test.count);
    const evalBatch = Math.min(o.batchSize, n);
    const batches = Math.ceil(n / evalBatch);
    const first = (k: number) => Math.min(k * evalBatch, n - evalBatch);
    const indices = (k: number) => [...Array(evalBatch).keys()].map((i) => first(k) + i);
    const testSize = isStreamed(test) ? test.size : (test.size ?? 32);
    // A streamed test split decodes batch k+1 while k is evaluated.
    const pre = new Prefetcher(
      (k) =>
        isStreamed(test)
          ? test.ds.images(
              indices(k).map((i) => test.from + i),
              test.size,
            )
          : Promise.resolve(batchOf(test, indices(k)).x),
      batches,
    );
    let correct = 0;
    for (let k = 0; k < batches; k++) {
      const idx = indices(k);
      const labels = isStreamed(test)
        ? Float32Array.from(idx, (i) => test.ds.labels[test.from + i])
        : Float32Array.from(idx, (i) => test.labels[i]);
      const b = { x: await pre.get(k), y: labels };
      const t = new Tape(backend, { noGrad: true });
      const x = backend.upload(resizeNearest(b.x, idx.length, 3, testSize, S), [idx.length, 3, S, S]);
      try {
        const { logits } = net.forward(t, t.input(x));
        const z = await logits.value.read();
        const classes = z.length / idx.length;
        const seen = k * evalBatch - first(k); // rows an earlier batch counted
        correct += countCorrect(z.subarray(seen * classes), b.y.subarray(seen), classes);
      } finally {
        t.dispose();
        x.dispose();
      }
    }
    const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
    return {
      finalTrainLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
      testAcc: correct / n,
      testImages: n,
      msPerStep,
    };
  } finally {
    sgd.dispose();
    net.dispose();
  }
}

/** Fraction of rows whose argmax matches the label. */
export function accuracy(logits: Float32Array, labels: ArrayLike<number>): number {
  return countCorrect(logits, labels, logits.length / labels.length) / labels.length;
}
