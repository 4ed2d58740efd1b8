/**
 * Every evaluation counts each requested image once. trainFixed's test accuracy (search
 * --space-file --train-steps, proxyless --train-derived) is over the first min(evalImages,
 * test.count) test images: it used to take whole batches only (1000 images at batch 32 were 992;
 * fewer than a batch, a whole batch). Trainer.evaluate (wgnas train's test and --val images, search
 * --train-epochs) is over the whole split, its last batch partial.
 *
 * How it is checked without knowing the network's answers: the test images are all zeros and the
 * training's lr is 0, so every activation is 0 (convolutions of zeros, batch-statistics BN of zeros
 * gives its beta, 0) and every image's logits are the classifier's bias: one class c for all. The
 * two classes' labels are balanced over the requested images, so the accuracy is exactly 0.5 for
 * either c, and the images a wrong count would drop (the tail) or count twice (the last batch's
 * overlap with the one before) are labelled unevenly, so that either mistake moves it for both c.
 */
import { describe, expect, it } from 'vitest';
import type { Cifar10 } from '../../src/data/cifar10.js';
import { trainFixed } from '../../src/mobilenet/train.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { buildNetwork } from '../../src/train/network.js';
import { TRAIN_DEFAULTS, Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { methodBackend } from '../helpers/backend.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { memoryDataset } from '../helpers/train-parity.js';

const LAYOUT = { ...TINY_CIFAR_LAYOUT, classes: 2 };
const PER = 3 * 32 * 32;
const split = (images: Float32Array, labels: number[]): Cifar10 => ({
  images,
  labels: Uint16Array.from(labels),
  count: labels.length,
  classes: 2,
});
const train = split(
  new Rng(5).normals(16 * PER),
  [...Array(16).keys()].map((i) => i % 2),
);
// Rows 0-11: 7 zeros, 5 ones (the first 6 balanced); 12-15 (batch 8's overlap): 3 zeros, a one;
// 16-19 (the tail whole batches dropped): ones. 10 of each over the first 20; rows 20-23 zeros.
const LABELS = [0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0];
const test = split(new Float32Array(LABELS.length * PER), LABELS);

describe('trainFixed evaluates every requested test image once', () => {
  it('20 images at batch 8 (not a multiple), 6 (under one batch), 1000 of a 20-image split', async ({ skip }) => {
    const b = await methodBackend();
    if (!b) return skip();
    const testOf = (n: number) => (n === 1000 ? split(test.images.subarray(0, 20 * PER), LABELS.slice(0, 20)) : test);
    for (const evalImages of [20, 6, 1000]) {
      const r = await trainFixed(b, LAYOUT, [0, 0, 0], train, testOf(evalImages), {
        steps: 1,
        batchSize: 8,
        lr: 0,
        weightDecay: 0,
        seed: 0,
        augment: false,
        evalImages,
      });
      expect(r.testImages, `evalImages ${evalImages}`).toBe(Math.min(evalImages, 20));
      expect(r.testAcc, `evalImages ${evalImages}`).toBe(0.5);
    }
  });

  it('refuses an evalImages that is not a positive integer, before training', async ({ skip }) => {
    const b = await methodBackend();
    if (!b) return skip();
    const o = { steps: 1, batchSize: 8, lr: 0, weightDecay: 0, seed: 0, augment: false };
    for (const evalImages of [0, 2.5, NaN])
      await expect(trainFixed(b, LAYOUT, [0, 0, 0], train, test, { ...o, evalImages })).rejects.toThrow(
        `trainFixed: evalImages ${evalImages} must be a positive integer`,
      );
  });
});

describe('Trainer.evaluate', () => {
  it('14 images in batches of 4: every image once, the last batch of 2 counted', async ({ skip }) => {
    const b = await methodBackend();
    if (!b) return skip();
    // An epoch at lr 0 on the same zero images sets BN's running statistics (mean 0): zeros give the bias too.
    const S = 8;
    const labels = [...LABELS.slice(0, 12), 1, 1]; // 7 zeros and 5 ones, then the partial batch: ones
    const ds = memoryDataset('test', new Float32Array(14 * 3 * S * S), labels, 2, S);
    const cfg = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1, numClasses: 2, unfedEdges: 'zeros' as const };
    const arch = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';
    const net = buildNetwork(b, { kind: 'nb201', cell: parseArch(arch), cfg, inputHW: S }, 7);
    const tr = new Trainer(
      b,
      net,
      { train: ds, test: ds, size: S },
      { ...TRAIN_DEFAULTS, epochs: 1, batchSize: 4, evalBatch: 4, lr: 0, warmupEpochs: 0, augment: false },
    );
    try {
      await tr.trainEpoch(0);
      ds.requested.length = 0;
      const r = await tr.evaluate();
      expect(r.acc).toBe(0.5);
      expect(ds.requested.flat()).toEqual([...Array(14).keys()]);
    } finally {
      tr.dispose();
      net.dispose();
    }
  });
});
