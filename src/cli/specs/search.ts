import { AGGREGATORS, PROXIES } from '../../proxies/registry.js';
import { defineCommand, defineMode, flag, inFile, int, madds, num, oneOf, oneOfLazy, outFile } from '../spec.js';
import { trainFoundOptions } from './train.js';
import {
  backend,
  cellsPerStage,
  cpuThreads,
  dataset,
  device,
  json,
  proxyBatch,
  proxyInit,
  proxyInputs,
  proxySeed,
  quiet,
  retiredProxies,
  searchProxyChoices,
  voteMembersText,
} from './common.js';
import { PROXYLESS_OPTIONS } from './proxyless.js';
import { submitCpuThreads, submitOptions } from './queue.js';

const space = oneOf(['nb201', 'proxyless'], {
  help: "search space; 'proxyless' runs the ProxylessNAS supernet search (the options of 'wgnas proxyless')",
  default: 'nb201',
});
const proxy = oneOfLazy(searchProxyChoices, {
  help: `any proxy of 'wgnas score', or an aggregate: ${[...AGGREGATORS.keys()].map((a) => `'${a}'`).join(', ')} ('vote': ${voteMembersText()}, a Borda count; 'vote_majority': the same by pairwise strict majority, a Copeland count); the search steers by the aggregate's online form (a cell's value among the cells evaluated so far), and the answer is the best by the aggregate over every evaluated cell`,
  default: 'wrcor',
  ignoreCase: true,
  retired: retiredProxies,
  noun: 'proxy',
});
const budget = int({ help: 'architectures proposed', default: 20, min: 1, max: 1_000_000 });
const searchSeed = { ...proxySeed, help: 'seed for the search, the batch and the weights' };
const evolutionOnly = { option: 'strategy', values: ['evolution'] } as const;
const population = int({
  help: 'evolution population',
  metavar: 'P',
  default: 10,
  min: 1,
  max: 100_000,
  appliesWhen: evolutionOnly,
});
const sampleSize = int({
  help: 'evolution tournament size',
  metavar: 'S',
  default: 3,
  min: 1,
  max: 100_000,
  appliesWhen: evolutionOnly,
});

/**
 * --resume and --force of a search's --evaluated FILE: `same` is what a resume must agree on,
 * `discarded` what --force throws away.
 */
function evaluatedResume(same: string, discarded: string) {
  return {
    resume: flag({
      help: `continue from --evaluated FILE (${same})`,
      requires: ['evaluated'],
      requiresWhy: '--resume needs --evaluated FILE',
    }),
    force: flag({
      help: `start over when --evaluated FILE holds an interrupted search (${discarded} discarded); a finished search's FILE is replaced without it`,
      requires: ['evaluated'],
      requiresWhy: '--force starts --evaluated FILE over; give --evaluated FILE',
      conflicts: ['resume'],
      conflictsWhy: '--resume and --force contradict each other',
    }),
  };
}

export const SEARCH_NB201_OPTIONS = {
  space,
  proxy,
  strategy: oneOf(['random', 'evolution', 'reinforce'], { help: 'search strategy', metavar: 'S', default: 'evolution' }),
  budget,
  population,
  'sample-size': sampleSize,
  batch: proxyBatch,
  'cells-per-stage': cellsPerStage,
  seed: searchSeed,
  init: proxyInit,
  inputs: proxyInputs,
  dataset,
  device,
  'cpu-threads': submitCpuThreads,
  json,
  quiet,
  evaluated: outFile({
    help: "append each evaluated cell and its scores to FILE as it finishes (.csv or .jsonl by the extension; a .json is written whole at the end). Rows: NAS-Bench-201: arch, the proxy's score columns and time_ms, the cell's wall time as in score --out (a search on --redis: step first, and the worker's time; a resumed CSV written before time_ms was goes on without it), not score --out's val_acc (correlate --scores reads them all the same); --space-file: choices, the proxy's score, madds, latency_ms where latency is limited, time_ms. A score of Infinity, -Infinity or NaN is that text. With --resume, FILE is replayed and the search continues where it stopped",
  }),
  ...evaluatedResume(
    'same proxy, strategy, seed, population, batch, network, device, CPU threads and minibatch images; --budget may grow',
    'its evaluations are',
  ),
  out: outFile({
    help: "write the best cell as a wgnas-nb201 JSON ({format: 'wgnas-nb201', version, arch, channels, cellsPerStage}: --cells-per-stage's depth, wgnas train's width), the network file wgnas train --net and export --net read",
  }),
  ...submitOptions,
  'in-flight': int({
    help: 'children out at once on --redis (at least the number of workers, or some sit idle); part of the run: another value proposes other children',
    default: 8,
    min: 1,
    max: 10_000,
    requires: ['redis'],
    requiresWhy: '--in-flight is for the asynchronous search on --redis URL',
  }),
  ...trainFoundOptions(),
};

export const SEARCH_CELLS_OPTIONS = {
  'space-file': inFile({
    help: 'zero-shot search of a cell space (wgnas evolve-space output, or its --hand-designed space): one cell per layer of the CIFAR layout; its networks are scored, trained and written at the BN the file records (bn: eps, momentum; else 1e-5, 0.1)',
    noun: 'space file',
  }),
  'budget-madds': madds({ help: 'only architectures within N multiply-adds (e.g. 3M)' }),
  'min-madds': madds({ help: 'and at least N (a band, to compare spaces at equal MAdds)' }),
  'max-latency-ms': num({
    help: "and at most X ms on this CPU (the space's cells timed through the native addon, 1 thread, caches as profile --cache-flush auto sets them). Each fresh run times them anew and the timings move by some percent, so two runs near the ceiling may keep or drop other architectures and find others: --evaluated FILE records the prices (a --resume reuses them), and --latency-table FILE.settings.json prices another run with them",
    gt: 0,
  }),
  'latency-table': inFile({
    help: "with --max-latency-ms: latency from this lookup table instead of timing the cells on this CPU: one of `wgnas profile --space-file` (the space's cell nodes, any space, on any target), or for a hand-designed space one of MBConv blocks (the ImageNet layout: data/latency/proxylessnas_mobile_trim.yaml, Pixel 1); or an earlier search's --evaluated FILE.settings.json, whose recorded cell prices (timed on this CPU) it reuses, so the ceiling decides as it did there",
    noun: 'latency table',
    requires: ['max-latency-ms'],
    requiresWhy: '--latency-table prices the --max-latency-ms ceiling; give --max-latency-ms X',
    conflicts: ['backend'],
    conflictsWhy: '--backend times the cells on this CPU, --latency-table reads their latency: give one',
  }),
  backend: {
    ...backend,
    help: 'library that prices the cells for --max-latency-ms',
    requires: ['max-latency-ms'],
    requiresWhy: '--backend prices cells for --max-latency-ms; give --max-latency-ms X',
  },
  'train-steps': int({
    help: 'train the best architecture N steps from scratch and report its test accuracy (and final train loss); with --evaluated FILE its state is saved in FILE.train-steps every tenth of the steps, and --resume continues a training killed midway',
    min: 1,
  }),
  out: outFile({ help: 'write the best architecture (wgnas-arch JSON)' }),
  evaluated: outFile({
    help: "append each evaluated architecture (its choices, score, MAdds, latency_ms under --max-latency-ms, time_ms) to FILE as it finishes (.csv or .jsonl by the extension; a .json is written whole at the end); the cells' prices timed on this CPU are recorded with them; with --resume, FILE is replayed and the search continues where it stopped",
  }),
  ...evaluatedResume(
    'same space file content, proxy, strategy, seed, population, sample size, batch, MAdds band, latency ceiling and where its prices come from, device, CPU threads and minibatch images; --budget may grow; cells timed on this CPU are not timed again: the prices recorded in FILE.settings.json are used',
    'its evaluations and recorded prices are',
  ),
  proxy: oneOfLazy(() => [...PROXIES.keys()], {
    help: "a proxy of 'wgnas score' (one proxy: the vote ranks a population)",
    default: 'wrcor',
    ignoreCase: true,
    retired: retiredProxies,
    noun: 'proxy',
  }),
  strategy: oneOf(['random', 'evolution'], { help: 'search strategy', metavar: 'S', default: 'evolution' }),
  budget,
  population,
  'sample-size': sampleSize,
  batch: proxyBatch,
  seed: searchSeed,
  dataset,
  device,
  'cpu-threads': cpuThreads,
  json,
  quiet,
  ...trainFoundOptions(),
};

export const SEARCH = defineCommand({
  name: 'search',
  summary: 'zero-shot search of NAS-Bench-201 or a cell space (random, evolution, REINFORCE) driven by a proxy or the vote',
  description:
    'Zero-shot architecture search: no training, each candidate is scored by a proxy on one --dataset minibatch (CIFAR-10 by default). Prints the best cell and its NAS-Bench-201 CIFAR-10 accuracy where known. With --redis URL (NAS-Bench-201, random or evolution) the search runs asynchronously: children are evaluated by whichever worker (wgnas worker) is free and join the population as they finish. With --space-file it searches a cell space under a MAdds (and latency) budget; with --space proxyless it runs the ProxylessNAS supernet search instead.',
  modes: [
    defineMode({
      id: 'nb201',
      module: 'search',
      label: '--space nb201',
      usage: [
        '[--space nb201] [--proxy NAME] [--strategy S] [--budget N] [--evaluated FILE [--resume | --force]] [--redis URL [--in-flight N]] [options]',
      ],
      options: SEARCH_NB201_OPTIONS,
    }),
    // --space proxyless before --space-file: a proxyless search may itself take a --space-file.
    defineMode({
      id: 'proxyless',
      module: 'proxyless',
      label: '--space proxyless',
      select: { option: 'space', value: 'proxyless' },
      usage: ['--space proxyless --latency-table FILE --target-ms X [proxyless options]'],
      options: { space, ...PROXYLESS_OPTIONS },
      optionsOf: 'proxyless',
    }),
    defineMode({
      id: 'cells',
      module: 'search',
      label: '--space-file',
      select: { option: 'space-file' },
      usage: [
        '--space-file SPACE.json [--budget-madds N] [--min-madds N] [--max-latency-ms X [--latency-table FILE]] [--train-steps N] [--evaluated FILE [--resume | --force]] [options]',
      ],
      options: SEARCH_CELLS_OPTIONS,
    }),
  ],
});
