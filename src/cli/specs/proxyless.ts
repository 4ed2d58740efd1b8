import { MBCONV_KERNELS, PROXYLESS_EXPANDS } from '../../latency/space.js';
import { LAYOUTS } from '../../mobilenet/layout.js';
import { DEFAULT_SEARCH as D } from '../../proxyless/search.js';
import { DEFAULT_LAMBDA } from '../../proxyless/objective.js';
import { defineCommand, defineMode, flag, inFile, int, num, oneOf, outDir, outFile, seed } from '../spec.js';
import { backend, cpuThreads, dataset, device, quiet, threads, trainSplit, valSplit } from './common.js';
import { trainFoundOptions } from './train.js';

const gradientOnly = { option: 'mode', values: ['gradient'] } as const;
const reinforceOnly = { option: 'mode', values: ['reinforce'] } as const;

export const PROXYLESS_OPTIONS = {
  'latency-table': inFile({
    group: 'search',
    help: "latency table (ProxylessNAS YAML); the CIFAR layout is priced as the same (stage, block) positions of the ImageNet space unless the table has its own keys; a --space-file's cells by their nodes' keys (a table of `wgnas profile --space-file`)",
    noun: 'latency table',
  }),
  'target-ms': num({ group: 'search', help: 'latency target T (ms)', gt: 0 }),
  'space-file': inFile({
    group: 'search',
    help: "search a cell space (wgnas evolve-space output, or --hand-designed) instead of the layout's MBConv candidates; writes a wgnas-arch JSON instead of a net.config, with the BN momentum the file records (bn.momentum, else 0.1)",
    noun: 'space file',
  }),
  'target-madds': num({
    group: 'search',
    help: 'with --space-file and no table: cost = multiply-adds, target M (millions)',
    metavar: 'M',
    gt: 0,
  }),
  'price-cells': flag({
    group: 'search',
    help: "with --space-file and --target-ms: cost = latency of the space's cells timed on this CPU through the native addon (each node one op, caches as profile --cache-flush auto sets them)",
    requires: ['space-file'],
    requiresWhy: '--price-cells prices the cells of a --space-file; give --space-file SPACE.json',
    conflicts: ['latency-table'],
    conflictsWhy: '--price-cells and --latency-table are two sources of latency: give one',
  }),
  backend: {
    ...backend,
    group: 'search',
    help: '--price-cells library',
    requires: ['price-cells'],
    requiresWhy: '--backend picks the --price-cells library; give --price-cells',
  },
  threads: {
    ...threads,
    group: 'search',
    help: '--price-cells library threads',
    requires: ['price-cells'],
    requiresWhy: '--threads sets the --price-cells library threads; give --price-cells',
  },
  layout: oneOf(Object.keys(LAYOUTS) as Array<keyof typeof LAYOUTS & string>, {
    group: 'search',
    help: 'supernet layout; imagenet: 224 input, the ProxylessNAS mobile space; a --dataset folder:PATH is decoded at 224 a batch ahead of each step (CIFAR is upscaled from 32: a smoke run); batch 2 by default',
    default: 'cifar',
    conflicts: ['space-file'],
    conflictsWhy: '--layout comes from the --space-file; drop --layout',
  }),
  mode: oneOf(['gradient', 'reinforce'], { group: 'search', help: 'architecture update', default: D.mode }),
  paths: int({
    group: 'search',
    help: "binarized paths per block in gradient mode (2 moves only the sampled pair's α per step, so it needs more steps than these short defaults; its latency loss takes the pairs' expected latency, as the authors' two-path mode)",
    default: 1,
    min: 1,
    max: 2,
    appliesWhen: gradientOnly,
  }),
  'gate-grads': oneOf(['sampled', 'all'], {
    group: 'search',
    help: "all = every candidate re-run for its gate gradient (the paper's full mode; needs --paths 1); sampled = the sampled paths' only (with --paths 1 a one-sample estimate, noisier)",
    default: D.gateGrads,
    appliesWhen: gradientOnly,
  }),
  loss: oneOf(['add', 'mul', 'hinge'], {
    group: 'search',
    help: "latency loss. add: CE + λ·(E[lat]−T)/T (the authors' code's add#linear; the paper's Eq. 5 is CE + λ2·E[lat], the same gradient scaled by 1/T); mul: CE·(ln E[lat]/ln T)^β (the authors' code's mul#log: --beta, no λ); hinge: CE + λ·max(0, E[lat]−T)/T (not in the paper: T as a budget). add and mul always reward lower latency, T only sets the strength",
    default: 'hinge',
    appliesWhen: gradientOnly,
  }),
  beta: num({
    group: 'search',
    help: 'latency loss exponent β (--loss mul only)',
    metavar: 'B',
    default: 0.3,
    min: 0,
    appliesWhen: gradientOnly,
  }),
  lambda: num({
    group: 'search',
    help: 'latency loss weight λ (--loss add and hinge; refused with mul)',
    metavar: 'L',
    min: 0,
    defaultText: `${DEFAULT_LAMBDA.hinge} for hinge, ${DEFAULT_LAMBDA.add} for add`,
    appliesWhen: gradientOnly,
  }),
  'reward-w': num({
    group: 'search',
    help: 'REINFORCE reward acc·(T/lat)^W',
    metavar: 'W',
    default: D.reinforceW,
    min: 0,
    appliesWhen: reinforceOnly,
  }),
  'rl-samples': int({
    group: 'search',
    help: 'REINFORCE architectures per α update, all evaluated on one validation batch',
    metavar: 'K',
    default: D.reinforceSamples,
    min: 1,
    max: 1024,
    appliesWhen: reinforceOnly,
  }),
  missing: oneOf(['error', 'nearest', 'scale'], {
    group: 'search',
    help: 'what to do with a layout key missing from the latency table',
    default: 'error',
    requires: ['latency-table'],
  }),
  warmup: int({ group: 'schedule', help: 'weight warm-up steps (uniform path sampling)', default: D.warmupSteps, min: 0 }),
  steps: int({
    group: 'schedule',
    help: 'search steps (weight steps; one α step every --arch-every)',
    default: D.searchSteps,
    min: 1,
  }),
  epochs: num({ group: 'schedule', help: 'search length in epochs of the train split (overrides --steps)', metavar: 'E', gt: 0 }),
  'arch-every': int({
    group: 'schedule',
    help: "weight steps per α step; the authors' code (grad_update_arch_param_every) uses 5 over 120 epochs, this default gives a run of tens of steps as many α steps as weight steps",
    metavar: 'K',
    // The library keeps the authors' 5 (DEFAULT_SEARCH); at 40 steps that would be 8 α steps.
    default: 1,
    min: 1,
  }),
  'arch-warmup-steps': int({
    group: 'schedule',
    help: 'search steps (after --warmup) that train weights on the search schedule before the first α step (the authors skip α in the first of their 120 search epochs)',
    metavar: 'N',
    default: D.archWarmupSteps,
    min: 0,
  }),
  'label-smoothing': num({
    group: 'schedule',
    help: 'label smoothing ε of the weight steps (target (1-ε) one-hot + ε/classes; α steps use plain CE), as the authors',
    metavar: 'E',
    default: D.labelSmoothing,
    min: 0,
    max: 0.99,
  }),
  'bn-eps': num({
    group: 'schedule',
    help: "every BN's eps in the supernet, written into the derived net.config or wgnas-arch (bn.eps) so the network trains and exports at it; a value given that differs from the --space-file's bn.eps is noted; 1e-3 is the authors' (imagenet_arch_search.py --bn_eps)",
    metavar: 'E',
    default: D.bnEps,
    defaultText: `the --space-file's bn.eps, else ${D.bnEps}`,
    gt: 0,
  }),
  'arch-init-std': num({
    group: 'schedule',
    help: "α starts at N(0, S²) (the authors' init_arch_params: normal, 1e-3); 0: all zero",
    metavar: 'S',
    default: D.alphaInitStd,
    min: 0,
  }),
  batch: int({
    group: 'schedule',
    help: 'training minibatch (at most --train)',
    defaultText: `${D.batchSize} (2 for --layout imagenet), or --train when smaller`,
    min: 1,
  }),
  'val-batch': int({
    group: 'schedule',
    help: 'validation minibatch (α steps; at most --val)',
    defaultText: `${D.valBatchSize} (2 for --layout imagenet), or --val when smaller`,
    min: 1,
  }),
  lr: num({ group: 'schedule', help: 'weight SGD learning rate (cosine, Nesterov 0.9, wd 4e-5)', default: D.weightLr, min: 0 }),
  'warmup-lr': num({
    group: 'schedule',
    help: 'peak weight learning rate of the warm-up (its first step): it decays by cosine over the --warmup steps to about 0 at the last (LR * (1 + cos(pi k / N)) / 2 at step k of N)',
    default: D.warmupLr,
    min: 0,
  }),
  'arch-lr': num({
    group: 'schedule',
    help: "Adam on α (β1 0, β2 0.999, eps 1e-8); the authors' code uses 1e-3 over some 10^5 α steps, this default suits runs of hundreds",
    default: 0.1,
    min: 0,
  }),
  train: { ...trainSplit, group: 'schedule' },
  val: { ...valSplit, group: 'schedule' },
  'no-augment': flag({ group: 'schedule', help: 'no crop/flip' }),
  dataset: { ...dataset, group: 'schedule' },
  seed: { ...seed(D.seed), group: 'schedule' },
  device: { ...device, group: 'schedule' },
  'cpu-threads': { ...cpuThreads, group: 'schedule' },
  out: outFile({ group: 'output', help: 'write the derived net.config (or wgnas-arch JSON) here; default: stdout' }),
  plot: outFile({
    group: 'output',
    help: 'write loss, latency and α-evolution curves (SVG; records every step)',
    metavar: 'FILE.svg',
  }),
  checkpoint: outDir({
    group: 'output',
    help: 'save state (α, weights, Adam state, settings) every --checkpoint-every steps and at the end; each save is switched in whole with one rename, and DIR is locked while the run lives',
  }),
  'checkpoint-every': int({
    group: 'output',
    help: 'steps between checkpoints (0: only at the end)',
    default: D.checkpointEvery,
    min: 0,
  }),
  resume: flag({
    group: 'output',
    help: 'continue from --checkpoint DIR (same settings, device, CPU threads and images, refused naming the flag that differs; --steps may grow)',
    requires: ['checkpoint'],
    requiresWhy: '--resume needs --checkpoint DIR',
  }),
  force: flag({
    group: 'output',
    help: 'start over when --checkpoint DIR already holds a checkpoint (it is discarded)',
    requires: ['checkpoint'],
    requiresWhy: '--force starts over in a --checkpoint DIR; give --checkpoint DIR',
    conflicts: ['resume'],
    conflictsWhy: '--resume and --force contradict each other',
  }),
  'log-every': int({ group: 'output', help: 'steps between progress lines', default: D.logEvery, min: 1 }),
  quiet: {
    ...quiet,
    group: 'output',
    help: "no progress on stderr: the run's settings header, the step lines (--log-every) and the bar, --train-derived's loss lines, --price-cells' and --resume's status, and --train-epochs' training runs --quiet; notes, the result and errors still print",
  },
  'train-derived': int({
    group: 'output',
    help: 'afterwards train the derived net from scratch N steps and report test accuracy',
    min: 1,
  }),
  ...trainFoundOptions('output'),
};

export const PROXYLESS_MODE = defineMode({
  id: 'proxyless',
  module: 'proxyless',
  label: 'wgnas proxyless',
  usage: [
    '--latency-table FILE --target-ms X [options]',
    '--space-file SPACE.json --target-madds M [options]',
    '--space-file SPACE.json --price-cells --target-ms X [options]',
  ],
  options: PROXYLESS_OPTIONS,
});

export const PROXYLESS = defineCommand({
  name: 'proxyless',
  summary: 'ProxylessNAS: binarized-path supernet search on --dataset (CIFAR-10 by default) with a latency loss',
  description: `Trains a ProxylessNAS supernet on --dataset (CIFAR-10 by default; its training split cut into --train and --val) and searches one MBConv candidate per block (kernel ${MBCONV_KERNELS.join('/')} x expand ${PROXYLESS_EXPANDS.join('/')}, 'zero' where an identity skip is possible) under a latency lookup table, multiply-adds or cells timed on this CPU. Writes the argmax network as a ProxylessNAS net.config. At the default lengths the supernet stays near chance (each candidate trains only on the steps that sample it, among blocks that keep switching), so the α steps see little accuracy signal and α follows the latency term; the supernet learns only over thousands of --warmup steps (4000: about 19 % train accuracy on CIFAR-10; docs/results.md).`,
  modes: [PROXYLESS_MODE],
});
