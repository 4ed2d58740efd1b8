import { DEFAULT_EVOLVE as D } from '../../autospace/evolve.js';
import { HAND_DESIGNED_MBCONV, MAX_NODES, REFERENCE_MBCONV } from '../../mobilenet/cell.js';
import { LAYOUTS } from '../../mobilenet/layout.js';
import { trainFoundOptions } from './train.js';
import { defineCommand, defineMode, flag, int, madds, MAX_SEED, num, oneOf, outDir, outFile, seed, text } from '../spec.js';
import { cpuThreads, dataset, device, quiet, trainSplit, valSplit } from './common.js';
import { submitOptions } from './queue.js';

/** Comma-separated distinct seeds, 1 to 1000 of them. */
export function seedsProblem(v: string): string | undefined {
  const parts = v.split(',').map((x) => x.trim());
  if (parts.length > 1000) return `at most 1000 seeds, got ${parts.length}`;
  for (const p of parts)
    if (!/^\d+$/.test(p) || Number(p) > MAX_SEED)
      return `expected seeds 0..${MAX_SEED} separated by commas, got '${p.slice(0, 40)}'`;
  if (new Set(parts.map(Number)).size !== parts.length) return 'a seed is given twice';
  return undefined;
}

/** --seeds as numbers (checked by seedsProblem). */
export const parseSeeds = (v: string): number[] => v.split(',').map((x) => Number(x.trim()));

const out = outFile({ help: 'write the learned space here (default: stdout)' });
/** --redis fills '{seed}' in and checks each seed's path (evolve-queued.ts); the pattern's own directory need not exist. */
export const SEED_PLACEHOLDER = '{seed}';

export const EVOLVE_OPTIONS = {
  'budget-madds': madds({ help: 'whole-network multiply-adds budget per image; accepts 12e6 or 12M', required: true }),
  layout: oneOf(Object.keys(LAYOUTS), {
    help: 'the ProxylessNAS layout whose skeleton and layer shapes are used; imagenet: 224 input, an image folder decoded at 224 a batch ahead of each step (CIFAR is upscaled)',
    default: 'cifar',
  }),
  population: int({ help: 'cells per layer', metavar: 'P', default: D.populationSize, min: 1, max: 10_000 }),
  k: int({ help: 'cells mixed per layer and cells per layer in the output', metavar: 'K', default: D.k, min: 1, max: 10_000 }),
  tournament: int({ help: 'tournament size', metavar: 'T', default: D.tournamentSize, min: 1, max: 10_000 }),
  iterations: int({ help: 'evolution iterations', default: D.iterations, min: 1 }),
  steps: int({ help: 'weight + fitness step rounds per iteration', metavar: 'S', default: D.steps, min: 1 }),
  warmup: int({ help: 'weight-only steps before the first iteration, uniform mixing', default: D.warmupSteps, min: 0 }),
  'warmup-mix': oneOf(['population', 'random-k'], {
    help: 'population: the warm-up mixes every cell of each layer (one fixed network, trains like one); random-k: K random cells per step',
    metavar: 'M',
    default: D.warmupMix,
  }),
  'no-inherit': flag({
    help: "mutated cells start from fresh weights (default: from the parent's weights on the nodes they share)",
  }),
  'no-cell-lr-scale': flag({
    help: "cells train at the plain learning rate (default: times the number of cells mixed in their layer, which offsets the mixture's 1/n gradient)",
  }),
  'min-evals': int({ help: 'iterations a cell takes part in before it can be replaced', default: D.minEvaluations, min: 1 }),
  'replace-every': int({
    help: 'replacement rounds every N iterations (cells train between them)',
    default: D.replaceEvery,
    min: 1,
  }),
  guide: int({ help: 'iterations in which the reference cell is always mixed and kept', default: D.guideIterations, min: 0 }),
  init: oneOf(['reference', 'hand-designed'], {
    help: `starting populations: reference (MBConv k${REFERENCE_MBCONV.kernel} e${REFERENCE_MBCONV.expand} and its mutations) or hand-designed (the reference, the hand-designed ${HAND_DESIGNED_MBCONV} and zero cells that fit the budget, then mutations)`,
    metavar: 'I',
    default: D.init,
  }),
  'max-nodes': int({
    help: 'largest cell a mutation may produce (MBConv has 3 nodes)',
    default: D.maxNodes,
    min: 1,
    max: MAX_NODES,
    maxWhy: 'the largest cell',
  }),
  batch: int({
    help: 'training and fitness minibatch (at most --train and --val)',
    defaultText: `${D.batchSize}, or the smaller split when it has fewer images`,
    min: 2,
  }),
  lr: num({ help: 'weight SGD learning rate (cosine, Nesterov 0.9)', default: D.weightLr, min: 0 }),
  'fitness-lr': num({ help: 'Adam learning rate of the fitness logits', default: D.fitnessLr, min: 0 }),
  penalty: num({
    help: 'weight λ of the budget hinge λ·max(0, E[MAdds]/budget − 1)',
    metavar: 'L',
    default: D.budgetPenalty,
    min: 0,
  }),
  slack: num({ help: "a mutated cell may use X times its layer's share of the budget", default: D.layerSlack, gt: 0 }),
  'bn-eps': num({
    help: "every BN's eps in the evolved networks (skeleton and cells), written into the learned space (bn.eps: search and proxyless --space-file build its networks at it unless told otherwise) and the --train-out network so the network trains and exports at it; PyTorch's BatchNorm default, which evolve-space has always used (proxyless without a space file searches at the ProxylessNAS authors' 1e-3)",
    metavar: 'E',
    default: D.bnEps,
    gt: 0,
  }),
  'bn-momentum': num({
    help: "BN running-statistics momentum (PyTorch's: weight of the new batch), written into the learned space and the --train-out network (bn.momentum), which wgnas train runs at (as it does the networks search and proxyless --space-file find in the space); the evolution itself normalises with each batch's statistics and keeps no running ones",
    default: D.bnMomentum,
    gt: 0,
    max: 1,
  }),
  train: trainSplit,
  val: valSplit,
  'no-augment': flag({ help: 'no crop/flip' }),
  dataset,
  seed: { ...seed(D.seed), conflicts: ['seeds'], conflictsWhy: '--seeds lists every seed to run: drop --seed' },
  seeds: text({
    help: "with --redis: one independent evolution per seed, each a job for a worker; --out (and --history) must contain '{seed}' when there are several",
    metavar: 'A,B,C',
    check: seedsProblem,
    requires: ['redis'],
    requiresWhy: '--seeds spreads evolutions over the workers of --redis URL; run one --seed at a time here',
  }),
  device,
  'cpu-threads': cpuThreads,
  out: { ...out, placeholder: SEED_PLACEHOLDER },
  history: outFile({
    help: 'write the per-iteration history (mixed cells, learned weights) as JSON',
    placeholder: SEED_PLACEHOLDER,
  }),
  checkpoint: outDir({
    help: 'save the whole state (cell and skeleton weights with momentum, populations, fitness, generator, history, settings) after every iteration and every --checkpoint-every warm-up steps; each save is switched in whole with one rename, and DIR is locked while the run lives',
    conflicts: ['redis'],
    conflictsWhy: '--redis runs each seed on a worker, which keeps no checkpoint: drop --checkpoint',
  }),
  'checkpoint-every': int({
    help: 'warm-up steps between checkpoints (0: only at the end of the warm-up; every iteration ends with one)',
    default: 10,
    min: 0,
  }),
  resume: flag({
    help: 'continue from --checkpoint DIR (same settings, device, CPU threads and images, refused naming the flag that differs); ends where an uninterrupted run ends',
    requires: ['checkpoint'],
    requiresWhy: '--resume needs --checkpoint DIR',
  }),
  force: flag({
    help: 'start over when --checkpoint DIR already holds a checkpoint (it is discarded)',
    requires: ['checkpoint'],
    requiresWhy: '--force starts over in a --checkpoint DIR; give --checkpoint DIR',
    conflicts: ['resume'],
    conflictsWhy: '--resume and --force contradict each other',
  }),
  quiet: {
    ...quiet,
    help: "no progress on stderr: the run's settings header, the iteration and warm-up lines and the bar, --resume's status, and --train-epochs' training runs --quiet; the learned space, notes and errors still print",
  },
  ...trainFoundOptions(),
  ...submitOptions,
};

export const HAND_DESIGNED_OPTIONS = {
  'hand-designed': flag({
    help: `write the ProxylessNAS hand-designed space (${HAND_DESIGNED_MBCONV} + zero) in the same format and exit (no GPU needed)`,
  }),
  layout: oneOf(Object.keys(LAYOUTS), { help: 'the layout whose positions the space covers', default: 'cifar' }),
  out,
};

export const EVOLVE_SPACE = defineCommand({
  name: 'evolve-space',
  summary: 'AutoSpace: evolve a search space of cells under a MAdds budget on --dataset (learned-space JSON)',
  description:
    "AutoSpace on --dataset (CIFAR-10 by default; its training split cut into --train and --val). Every searchable layer of the layout keeps a population of cells (small DAGs of 1x1 / depthwise / 3x3 / linear-1x1 primitives). Each iteration tournament-selects K cells per layer, trains the network whose layers mix their K cells by softmax fitness weights (learned by back-propagation, WGSL fitness kernels), folds the learned weights into each cell's fitness and replaces the worst cell of each layer by a mutation of a tournament winner. The MobileNetV2 block (MBConv k3 e6) is the reference: populations start from it, the hand-designed cells and their mutations (--init), and it is mixed in every layer during the guide iterations. Writes the top-K cells per layer as a wgnas-space JSON that 'wgnas search --space-file' (zero-shot) and 'wgnas proxyless --space-file' (ProxylessNAS) take.",
  modes: [
    defineMode({
      id: 'evolve',
      module: 'evolve-space',
      label: 'wgnas evolve-space --budget-madds',
      usage: ['--budget-madds N [options]', "--budget-madds N --redis URL --seeds 1,2,3 --out 'space-{seed}.json' [options]"],
      options: EVOLVE_OPTIONS,
    }),
    defineMode({
      id: 'hand-designed',
      module: 'evolve-space',
      label: '--hand-designed',
      select: { option: 'hand-designed' },
      usage: ['--hand-designed [--layout NAME] [--out FILE]'],
      options: HAND_DESIGNED_OPTIONS,
    }),
  ],
});
