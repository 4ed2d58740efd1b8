/**
 * The training steps bench/gpu-host-cost.ts --workload records: the product's own step functions
 * (src/proxyless/search-steps.ts weightStep and gradientArchStep at the search defaults, label
 * smoothing and augmentation included; AutoSpace.step of src/autospace/evolve.ts; `wgnas train`'s
 * epoch, src/train/trainer.ts, at its defaults on NAS-Bench-201's network) on random in-memory
 * CIFAR-sized images, so a run is pure in its seed. Each run(i) is one step (AutoSpace: one
 * iteration of `steps` weight + fitness step pairs) and returns the values it produced, to compare
 * before and after a host-side change; digest() hashes every parameter's bytes once the steps are done.
 */
import { AutoSpace, DEFAULT_EVOLVE } from '../src/autospace/evolve.js';
import { type Backend, gpuOf, type Tensor } from '../src/backend/index.js';
import { batchSource } from '../src/data/batch-stream.js';
import { sampleGates } from '../src/kernels/binarize.js';
import { CIFAR_LAYOUT } from '../src/mobilenet/layout.js';
import { AlphaAdam, TrainingDivergedError, WeightSgd } from '../src/nn/optim.js';
import type { Param } from '../src/nn/tape.js';
import { initialAlpha } from '../src/proxyless/search.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig } from '../src/proxyless/search-config.js';
import { gradientArchStep, type SearchParts, weightStep } from '../src/proxyless/search-steps.js';
import { ProxylessSupernet } from '../src/proxyless/supernet.js';
import { Rng } from '../src/util/rng.js';
import { mixSeed } from '../src/util/seed.js';
import { nb201Network } from '../src/export/index.js';
import { buildNetwork } from '../src/train/network.js';
import { TRAIN_DEFAULTS, Trainer } from '../src/train/trainer.js';
import { gaussianImages } from '../test/helpers/images.js';
import { memoryDataset } from '../test/helpers/train-parity.js';

export const STEP_WORKLOADS = ['proxyless-fixed', 'proxyless-sampled', 'proxyless-arch', 'autospace', 'train'] as const;
export type StepWorkload = (typeof STEP_WORKLOADS)[number];

export interface StepRunner {
  /** What one run(i) is, for the report. */
  describe: string;
  /** Training steps per run(i) (AutoSpace: 2 per weight + fitness pair). */
  stepsPerRun: number;
  run(i: number): Promise<Record<string, number>>;
  /** FNV-1a over every parameter's f32 bytes (and α or φ where the workload keeps them). */
  digest(): Promise<string>;
  dispose(): void;
}

function fnv(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

async function digestTensors(ts: readonly Tensor[], extra: readonly Float32Array[] = []): Promise<string> {
  let h = 0x811c9dc5;
  const vals = await Promise.all(ts.map((t) => t.read()));
  for (const v of [...vals, ...extra]) h = fnv(h, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return h.toString(16).padStart(8, '0');
}

export async function openStepRunner(
  backend: Backend,
  workload: StepWorkload,
  o: { batch: number; seed: number; autospaceSteps: number; nullDevice: boolean; labelSmoothing?: number },
): Promise<StepRunner> {
  if (workload === 'autospace') return autospaceRunner(backend, o);
  if (workload === 'train') return trainRunner(backend, o);
  const layout = CIFAR_LAYOUT;
  const cfg: ProxylessSearchConfig = {
    ...DEFAULT_SEARCH,
    layout,
    costLoss: null,
    batchSize: o.batch,
    valBatchSize: o.batch,
    seed: o.seed,
    labelSmoothing: o.labelSmoothing ?? DEFAULT_SEARCH.labelSmoothing,
  };
  const net = new ProxylessSupernet(backend, layout, new Rng(mixSeed(o.seed, 0x5eed)), { bnEps: cfg.bnEps });
  const sgd = new WeightSgd(backend, net.params, {
    momentum: cfg.momentum,
    nesterov: cfg.nesterov,
    weightDecay: cfg.weightDecay,
  });
  const adam = new AlphaAdam(backend, net.choiceSizes, cfg.arch);
  const p: SearchParts = {
    backend,
    cfg,
    net,
    cost: null,
    sgd,
    adam,
    trainStream: batchSource(gaussianImages(4 * o.batch, mixSeed(o.seed, 11)), o.batch, mixSeed(o.seed, 1)),
    valStream: batchSource(gaussianImages(2 * o.batch, mixSeed(o.seed, 12)), o.batch, mixSeed(o.seed, 2)),
  };
  let alpha = initialAlpha(net.choiceSizes, cfg.alphaInitStd, o.seed);
  if (workload === 'proxyless-fixed') {
    // bench/proxyless-step.ts's fixed path (drawn from uniform α with Rng(3)), made certain by α.
    const pick = new Rng(3);
    alpha = net.choiceSizes.map((n) => {
      const a = new Float32Array(n);
      a[sampleGates(a, pick, 1).active] = 200;
      return a;
    });
  }
  const params = net.params;
  return {
    describe:
      workload === 'proxyless-arch'
        ? `ProxylessNAS gradient architecture step (${cfg.paths} paths, sampled gate gradients, Adam on α), batch ${o.batch}`
        : `ProxylessNAS weight step (${workload === 'proxyless-fixed' ? 'one fixed path' : 'one sampled path'}, label smoothing ${cfg.labelSmoothing}, SGD-Nesterov), batch ${o.batch}`,
    stepsPerRun: 1,
    async run(i): Promise<Record<string, number>> {
      if (workload === 'proxyless-arch') {
        try {
          const r = await gradientArchStep(p, alpha, i);
          // Dawn's null backend runs no kernel: its α reads back as anything, so α stays as it was.
          if (!o.nullDevice) alpha = r.alpha;
          return { objective: r.objective, ce: r.ce };
        } catch (e) {
          if (o.nullDevice && e instanceof TrainingDivergedError) return { diverged: 1 };
          throw e;
        }
      }
      const r = await weightStep(p, alpha, cfg.weightLr, i);
      return { loss: r.loss, acc: r.acc };
    },
    digest: () =>
      digestTensors(
        params.map((q: Param) => q.value),
        alpha,
      ),
    dispose() {
      net.dispose();
      sgd.dispose();
      adam.dispose();
    },
  };
}

function autospaceRunner(
  backend: Backend,
  o: { batch: number; seed: number; autospaceSteps: number; nullDevice: boolean },
): StepRunner {
  // The device suite's evolve-space step (population 4, k 4, 12M MAdds), without warm-up and with
  // no replacement, so every iteration mixes cells of the same kinds.
  const cfg = {
    ...DEFAULT_EVOLVE,
    layout: CIFAR_LAYOUT,
    budgetMadds: 12e6,
    populationSize: 4,
    k: 4,
    batchSize: o.batch,
    steps: o.autospaceSteps,
    warmupSteps: 0,
    iterations: 1000,
    replaceEvery: 1000,
    seed: o.seed,
  };
  const data = {
    train: gaussianImages(4 * o.batch, mixSeed(o.seed, 11)),
    val: gaussianImages(2 * o.batch, mixSeed(o.seed, 12)),
  };
  const a = new AutoSpace(backend, cfg, data);
  return {
    describe: `AutoSpace iteration (${cfg.steps} weight + fitness step pairs, population ${cfg.populationSize}, k ${cfg.k}), batch ${o.batch}`,
    stepsPerRun: 2 * cfg.steps,
    async run(): Promise<Record<string, number>> {
      let ev;
      try {
        ev = await a.step();
      } catch (e) {
        // Dawn's null backend runs no kernel: φ reads back as anything (the iteration is repeated).
        if (o.nullDevice && e instanceof TrainingDivergedError) return { diverged: 1 };
        throw e;
      }
      const p = ev.mixed.flat().map((m) => m.p);
      return {
        trainLoss: ev.trainLoss,
        valLoss: ev.valLoss,
        expectedMadds: ev.expectedMadds,
        pSum: p.reduce((s, x) => s + x * x, 0),
      };
    },
    digest: () => {
      // Through the checkpoint's list: the skeleton's parameters and every member's, in order.
      const { params } = (a as unknown as { tensors(): { params: Param[] } }).tensors();
      return digestTensors(params.map((q) => q.value));
    },
    dispose: () => a.dispose(),
  };
}

/** NAS-Bench-201's cell of bench/train-vs-torch.ts, at the network's defaults (16 channels, 5 cells per stage). */
const TRAIN_ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';

function trainRunner(
  backend: Backend,
  o: { batch: number; seed: number; nullDevice: boolean; labelSmoothing?: number },
): StepRunner {
  // wgnas train's defaults (SGD-Nesterov, warm-up + cosine, label smoothing, augmentation, BN running
  // statistics); run(i) is epoch i of 2 steps (the test split is not evaluated: Trainer.run does that).
  const stepsPerEpoch = 2;
  const images = gaussianImages(stepsPerEpoch * o.batch, mixSeed(o.seed, 11));
  const train = memoryDataset('train', images.images, Array.from(images.labels), 10, 32);
  const net = buildNetwork(backend, nb201Network(TRAIN_ARCH, { numClasses: 10 }), o.seed);
  const settings = {
    ...TRAIN_DEFAULTS,
    epochs: 1000,
    batchSize: o.batch,
    seed: o.seed,
    labelSmoothing: o.labelSmoothing ?? TRAIN_DEFAULTS.labelSmoothing,
  };
  const trainer = new Trainer(backend, net, { train, test: train, size: 32 }, settings);
  const gpu = gpuOf(backend);
  if (o.nullDevice && gpu) {
    // Dawn's null backend runs no kernel and reads back anything: the trainer's divergence check
    // would end the step at its first read. Non-finite values read as 0, so every step runs in full.
    const readMany = gpu.readMany;
    gpu.readMany = async (ts) => (await readMany.call(gpu, ts)).map((v) => v.map((x) => (Number.isFinite(x) ? x : 0)));
  }
  return {
    describe: `wgnas train epoch (${stepsPerEpoch} steps, NAS-Bench-201 C=16 N=5, label smoothing ${settings.labelSmoothing}, augmentation, SGD-Nesterov, BN running statistics), batch ${o.batch}`,
    stepsPerRun: stepsPerEpoch,
    async run(i): Promise<Record<string, number>> {
      const r = await trainer.trainEpoch(i);
      return { loss: r.loss, acc: r.acc };
    },
    digest: async () => {
      const w = await trainer.weights();
      return digestTensors(
        [],
        [...w.values()].map((t) => t.data),
      );
    },
    dispose() {
      trainer.dispose();
      net.dispose();
    },
  };
}
