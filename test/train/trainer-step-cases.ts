/**
 * Trainer.step (the label-smoothed loss and its gradient on the device, one read at the end) against
 * the step it replaced (the logits read mid-step, smoothedCrossEntropy on the host in f64, its
 * dlogits uploaded to seed the backward; BnRunningStats.update), for one backend
 * (trainer-step.test.ts: CPU; trainer-step.gpu.test.ts: WGSL). Two trainers start from the same
 * weights and take the same batches:
 * - CPU backend: the native op computes dlogits in f64 as the host does, so every step's parameters,
 *   running statistics and accuracy equal the host-loss step's bit for bit, at smoothing 0 and 0.1
 *   (the loss itself within f32 rounding: the device returns it in f32);
 * - WGSL backend: the first step's forward is the same, so its accuracy and running statistics
 *   (read with the loss in one readMany and folded) are equal bit for bit; then parameters and
 *   running statistics are within f32 rounding (dlogits in f32 differ from the host's rounded f64
 *   in their last bits). Observed on lavapipe: losses within 4e-7 (relative), tensors within
 *   6e-6 (scaledMaxError); the first step's loss without the smoothing misses the loss bound 2500x.
 * - a non-finite loss throws TrainingDivergedError naming --lr, the running statistics untouched;
 *   a run diverging so saves nothing after the error (its checkpoint stays the last whole epoch's).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { readCheckpoint } from '../../src/nn/checkpoint.js';
import { smoothedCrossEntropy } from '../../src/nn/loss.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { TrainingDivergedError } from '../../src/nn/optim.js';
import { Tape } from '../../src/nn/tape.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { buildNetwork } from '../../src/train/network.js';
import { TRAIN_DEFAULTS, Trainer, type TrainSettings } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { memoryDataset, scaledMaxError } from '../helpers/train-parity.js';

const ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';
const [N, K, S, STEPS] = [6, 5, 8, 3];

/** The step Trainer.step replaced (src/train/trainer.ts before the loss moved to the device). */
async function hostLossStep(tr: Trainer, xs: Float32Array, labels: Float32Array, lr: number) {
  const be = tr.backend;
  const t = new Tape(be, { bnBatchStats: true });
  const x = be.upload(xs, [labels.length, 3, S, S]);
  let seed: Tensor | null = null;
  try {
    const { logits } = tr.net.forward(t, t.input(x));
    const r = smoothedCrossEntropy(await logits.value.read(), labels, K, tr.s.labelSmoothing);
    seed = be.upload(r.dlogits, logits.shape);
    t.backward(logits, seed);
    tr.sgd.step(lr);
    await tr.bn.update(t.bnBatches);
    return { loss: r.loss, correct: r.correct };
  } finally {
    tr.net.zeroGrad();
    t.dispose();
    x.dispose();
    seed?.dispose();
  }
}

function trainer(be: Backend, labelSmoothing: number, more: Partial<TrainSettings> = {}): Trainer {
  const rng = new Rng(41);
  const labels = Array.from({ length: STEPS * N }, (_, i) => (i + rng.int(K)) % K);
  const train = memoryDataset('train', rng.normals(STEPS * N * 3 * S * S), labels, K, S);
  const cfg = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1, numClasses: K, unfedEdges: 'zeros' as const };
  const net = buildNetwork(be, { kind: 'nb201', cell: parseArch(ARCH), cfg, inputHW: S }, 7);
  const s: TrainSettings = {
    ...TRAIN_DEFAULTS,
    epochs: 1,
    batchSize: N,
    lr: 0.2,
    warmupEpochs: 0,
    augment: false,
    labelSmoothing,
    ...more,
  };
  return new Trainer(be, net, { train, test: train, size: S }, s);
}

async function stepInputs(tr: Trainer, k: number): Promise<{ xs: Float32Array; labels: Float32Array }> {
  const idx = tr.indicesAt(0, tr.permutation(0), k);
  return { xs: await tr.data.train.images(idx, S), labels: Float32Array.from(idx, (i) => tr.data.train.labels[i]) };
}

const bnState = (tr: Trainer) => tr.bn.entries().flatMap(([name, s]) => [[name, Array.from(s.mean), Array.from(s.var)]]);

/**
 * `exact`: the backend's loss gradient is the host's f64 one rounded to f32 (the native op), so
 * parameters and running statistics equal the host-loss step's bit for bit; else within f32 rounding.
 */
export function describeDeviceLossStep(label: string, backendOf: () => Promise<Backend | null>, exact: boolean): void {
  describe(`Trainer.step: the loss on the device against the host's (${label})`, () => {
    for (const eps of [0.1, 0]) {
      it(`equals the host-loss step ${exact ? 'bit for bit' : 'within f32 rounding'}, label smoothing ${eps}`, async ({
        skip,
      }) => {
        const be = await backendOf();
        if (!be) return skip();
        const [dev, host] = [trainer(be, eps), trainer(be, eps)];
        try {
          for (let k = 0; k < STEPS; k++) {
            const { xs, labels } = await stepInputs(dev, k);
            const lr = dev.lrAt(k);
            const d = await dev.step(xs, labels, lr, `step ${k + 1}`);
            const h = await hostLossStep(host, xs, labels, lr);
            expect(Math.abs(d.loss - h.loss) / h.loss, `loss of step ${k + 1}`).toBeLessThan(2e-6);
            if (k === 0) {
              expect(d.correct).toBe(h.correct);
              expect(bnState(dev)).toEqual(bnState(host));
            }
            const [pd, ph] = [await dev.weights(), await host.weights()];
            expect([...pd.keys()]).toEqual([...ph.keys()]);
            if (exact) {
              expect(d.correct).toBe(h.correct);
              for (const [name, w] of ph) expect(pd.get(name)!.data, `${name} after step ${k + 1}`).toEqual(w.data);
            } else {
              for (const [name, w] of ph)
                expect(scaledMaxError(pd.get(name)!.data, w.data), `${name} after step ${k + 1}`).toBeLessThan(5e-5);
            }
          }
        } finally {
          for (const tr of [dev, host]) {
            tr.dispose();
            tr.net.dispose();
          }
        }
      });
    }

    it('a non-finite loss throws TrainingDivergedError naming --lr and leaves the running statistics', async ({ skip }) => {
      const be = await backendOf();
      if (!be) return skip();
      const tr = trainer(be, 0.1);
      try {
        const { xs, labels } = await stepInputs(tr, 0);
        await tr.step(xs, labels, 0.1, 'step 1');
        const before = bnState(tr);
        const w = tr.net.params.find((p) => p.name === 'classifier.w')!;
        be.write(w.value, new Float32Array(w.value.size).fill(NaN));
        const err = await tr.step(xs, labels, 0.1, 'epoch 1 step 2').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TrainingDivergedError);
        expect((err as Error).message).toMatch(
          /^training diverged at epoch 1 step 2: the loss is NaN \(learning rate 0\.2\); try a smaller --lr$/,
        );
        expect(bnState(tr)).toEqual(before);
      } finally {
        tr.dispose();
        tr.net.dispose();
      }
    });

    it('a run diverging in epoch 2 saves nothing after the error: the checkpoint stays epoch 1, finite', async ({ skip }) => {
      const be = await backendOf();
      if (!be) return skip();
      const tr = trainer(be, 0.1, { epochs: 2 });
      const dir = mkdtempSync(join(tmpdir(), 'wgnas-diverged-'));
      try {
        const w = tr.net.params.find((p) => p.name === 'classifier.w')!;
        const other = tr.net.params.find((p) => p !== w)!;
        const poison = () => be.write(w.value, new Float32Array(w.value.size).fill(NaN));
        const err = await tr.run({ checkpointDir: dir, onEpoch: poison }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TrainingDivergedError);
        expect((err as Error).message).toMatch(/^training diverged at epoch 2 step 1: the loss is NaN /);
        // The failed step's update is in the weights (as documented), not in any checkpoint.
        expect((await other.value.read()).some((x) => Number.isNaN(x))).toBe(true);
        expect(readFileSync(join(dir, 'current'), 'utf8')).toBe('ckpt-000001\n');
        const ck = readCheckpoint(dir);
        expect(ck.meta).toMatchObject({ epochsDone: 1 });
        expect(ck.weights.every((x) => Number.isFinite(x))).toBe(true);
        expect(ck.momentum.every((x) => Number.isFinite(x))).toBe(true);
        expect(readdirSync(dir).sort()).toEqual(['ckpt-000001', 'current']);
      } finally {
        tr.dispose();
        tr.net.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
