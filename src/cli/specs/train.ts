import { TRAIN_DEFAULTS as D, NB201_RECIPE as R, TRAIN_RECIPES, WARMUP_MAX_SHARE } from '../../train/settings.js';
import { defineCommand, defineMode, flag, int, num, oneOf, outDir, seed } from '../spec.js';
import { cpuThreads, dataset, device, quiet } from './common.js';
import { EXPORT_OPTIONS } from './export.js';

/** The files `wgnas train` writes in its --out DIR at the end (the checkpoint aside): checked before the work. */
export const TRAIN_FILES = ['weights.json', 'weights.bin', 'curve.svg', 'report.json'] as const;

export const TRAIN_OPTIONS = {
  net: { ...EXPORT_OPTIONS.net, group: 'network' },
  nb201: { ...EXPORT_OPTIONS.nb201, group: 'network' },
  resolution: { ...EXPORT_OPTIONS.resolution, group: 'network' },
  channels: { ...EXPORT_OPTIONS.channels, group: 'network' },
  'cells-per-stage': { ...EXPORT_OPTIONS['cells-per-stage'], group: 'network' },
  dataset: { ...dataset, group: 'data' },
  'train-images': int({
    group: 'data',
    help: 'train on the first N images of the training split (class-interleaved for folders)',
    defaultText: 'all',
    min: 2,
  }),
  'test-images': int({ group: 'data', help: 'evaluate on the first N images of the test split', defaultText: 'all', min: 1 }),
  val: int({
    group: 'data',
    help: "hold out N of the training images (class-balanced, seeded by --seed), evaluated after every epoch: report.json's best epoch is chosen on them, not on the test images",
    metavar: 'N',
    min: 1,
  }),
  'no-augment': flag({ group: 'data', help: 'no random crop (pad 1/8 of the side) and horizontal flip' }),
  recipe: oneOf(TRAIN_RECIPES, {
    group: 'schedule',
    help:
      "default: OFA/ProxylessNAS's (per-step warm-up + cosine, no weight decay on BN parameters and biases, label smoothing); " +
      `nb201: NAS-Bench-201's, so that accuracies compare with its table (weight decay on every parameter, cosine per epoch, warm-up from 0, and --epochs ${R.epochs} --batch ${R.batchSize} --lr ${R.lr} --momentum ${R.momentum} --weight-decay ${R.weightDecay} --label-smoothing ${R.labelSmoothing} --warmup-epochs ${R.warmupEpochs}); flags given explicitly override the recipe's values`,
    default: 'default',
  }),
  epochs: int({
    group: 'schedule',
    help: `epochs over the training images (--recipe nb201: ${R.epochs})`,
    default: D.epochs,
    min: 1,
    max: 100_000,
  }),
  batch: int({
    group: 'schedule',
    help: `training minibatch (the last partial batch of an epoch is dropped; a default one is at most the training images; --recipe nb201: ${R.batchSize})`,
    default: D.batchSize,
    min: 2,
    max: 65_536,
  }),
  lr: num({
    group: 'schedule',
    help: `peak learning rate: SGD with Nesterov momentum, linear warm-up, then cosine to 0 (--recipe nb201: ${R.lr})`,
    default: D.lr,
    gt: 0,
  }),
  'warmup-epochs': num({
    group: 'schedule',
    help: `linear warm-up length in epochs; the default is cut to ${WARMUP_MAX_SHARE * 100} % of a shorter run's epochs (noted), a given one must be shorter than --epochs (--recipe nb201: ${R.warmupEpochs}, whole epochs)`,
    default: D.warmupEpochs,
    min: 0,
  }),
  momentum: num({
    group: 'schedule',
    help: `Nesterov momentum (--recipe nb201: ${R.momentum})`,
    default: D.momentum,
    min: 0,
    max: 0.999,
  }),
  'weight-decay': num({
    group: 'schedule',
    help: `L2 weight decay (not on BN parameters and biases; --recipe nb201: ${R.weightDecay} on every parameter)`,
    default: D.weightDecay,
    min: 0,
  }),
  'label-smoothing': num({
    group: 'schedule',
    help: `label smoothing ε (target (1-ε) one-hot + ε/classes; --recipe nb201: ${R.labelSmoothing})`,
    default: D.labelSmoothing,
    min: 0,
    max: 0.99,
  }),
  'bn-momentum': num({
    group: 'schedule',
    help: "BN running-statistics momentum (PyTorch's: weight of the new batch); the default is a net.config's bn.momentum, or a wgnas-arch's (the one its search took from its --space-file); a value given that differs from it is noted",
    default: D.bnMomentum,
    defaultText: `the --net file's bn.momentum, else ${D.bnMomentum}`,
    gt: 0,
    max: 1,
  }),
  seed: { ...seed(D.seed, 'weight-initialisation, batch-order and augmentation seed'), group: 'schedule' },
  device: { ...device, group: 'schedule' },
  'cpu-threads': { ...cpuThreads, group: 'schedule' },
  out: outDir({
    group: 'output',
    help: 'write here: weights.json + weights.bin (the trained weights and BN running statistics), curve.svg (learning curve), report.json; checkpoints in DIR/checkpoint after every epoch',
    required: true,
  }),
  resume: flag({
    group: 'output',
    help: 'continue from DIR/checkpoint (the same settings, device, CPU threads and images, refused naming the flag that differs)',
  }),
  force: flag({
    group: 'output',
    help: 'start over when DIR/checkpoint already holds a checkpoint (it is discarded)',
    conflicts: ['resume'],
    conflictsWhy: '--resume and --force contradict each other',
  }),
  'latency-runs': int({
    group: 'output',
    help: "timed batch-1 runs, at 1 thread whatever --cpu-threads, for the reported latencies: the network as the addon's op chain (as predict --measure; MBConv networks) and wgnas' own CPU-backend forward (0: skip)",
    default: 10,
    min: 0,
    max: 10_000,
  }),
  quiet: { ...quiet, group: 'output', help: 'no progress lines (one per epoch) on stderr' },
};

export const TRAIN_MODE = defineMode({
  id: 'train',
  module: 'train',
  label: 'wgnas train',
  usage: [
    '--nb201 ARCH --out DIR [--dataset NAME] [--epochs N] [options]',
    '--net CONFIG.json --out DIR [--dataset NAME] [--epochs N] [options]',
  ],
  options: TRAIN_OPTIONS,
});

export const TRAIN = defineCommand({
  name: 'train',
  summary: 'train a found network (NB201 cell, net.config, wgnas-arch) from scratch and report its test accuracy',
  description:
    'Trains the network from scratch on --dataset: SGD with Nesterov momentum, linear warm-up then cosine schedule, weight decay, label smoothing, random crop + flip, and batch-norm running statistics (updated every step as PyTorch does: momentum, unbiased variance), which the evaluation on the test split after every epoch normalises with. ' +
    "--recipe nb201 trains with NAS-Bench-201's recipe instead, for accuracies comparable with its table (explicit flags still override its values). " +
    'Images are decoded per step, one batch ahead. A checkpoint is saved after every epoch (DIR/checkpoint, switched in with one rename); --resume continues it and gives the same weights as an uninterrupted run. ' +
    'At the end: DIR/weights.json + weights.bin (the wgnas-weights format of wgnas export --weights, with the running statistics as <bn>.running_mean / <bn>.running_var), DIR/curve.svg and DIR/report.json (test accuracy, parameters, multiply-adds, batch-1 latency measured through the native addon).',
  modes: [TRAIN_MODE],
});

/** --train-epochs / --train-out of the search commands (src/cli/train-found.ts); `group` for specs with headings. */
export function trainFoundOptions(group?: string) {
  const g = group ? { group } : {};
  return {
    'train-epochs': int({
      ...g,
      help: 'afterwards train the network found from scratch for N epochs with wgnas train (its defaults; the same --dataset, --device and --seed) and report its test accuracy',
      min: 1,
      max: 100_000,
      requires: ['train-out'],
      requiresWhy: '--train-epochs writes the training into a directory; give --train-out DIR',
    }),
    'train-out': outDir({
      ...g,
      help: 'where --train-epochs writes: network.json (the network found, as wgnas train --net and export --net read it; an NB201 cell as a wgnas-nb201 JSON), weights, curve.svg, report.json and checkpoints (see wgnas train)',
      requires: ['train-epochs'],
      requiresWhy: '--train-out is for --train-epochs; give --train-epochs N',
    }),
  };
}
