import { parseArch, NB201_NUM_CELLS } from '../../spaces/nb201.js';
import { cutValue } from '../errors.js';
import { GROUP_MODES } from '../../zeroshot/group-size.js';
import { defineCommand, defineMode, flag, inFile, int, list, oneOf, outFile, text, texts } from '../spec.js';
import { AGGREGATORS } from '../../proxies/registry.js';
import {
  cellsPerStage,
  device,
  groupableProxiesText,
  kernelProfile,
  NB201_DISTINCT_CELLS,
  proxyFamiliesText,
  proxyBatch,
  proxyListChoices,
  retiredProxies,
  proxyScoringOptions,
  quiet,
  voteMembersText,
} from './common.js';
import { submitCpuThreads, submitOptions } from './queue.js';
import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import { fmtBytes } from '../../util/format.js';
import { scoringProcessBytes } from '../../zeroshot/process-memory.js';

/** One CPU scoring process's memory at the default batch, for the help (zeroshot/process-memory.ts). */
const CPU_PROCESS_MEMORY = fmtBytes(scoringProcessBytes(NB201_DEFAULT, proxyBatch.default as number, ['wrcor']));

/** A problem with an arch string, or undefined. */
export function archProblem(v: string): string | undefined {
  try {
    parseArch(v);
    return undefined;
  } catch (e) {
    return cutValue((e as Error).message, v);
  }
}

/** A problem with a --group value ('auto' or 1..256), or undefined. */
export function groupProblem(v: string): string | undefined {
  if (v === 'auto') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) return `must be an integer >= 1, got '${v}' (or 'auto')`;
  if (Number(v) > 256) return `must be at most 256, got '${v}'`;
  return undefined;
}

export const SCORE_OPTIONS = {
  arch: texts({ help: 'an arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|', check: archProblem }),
  archs: inFile({
    help: "a file with one arch string per line (the first comma field; '#' starts a comment line)",
    noun: 'arch list',
  }),
  sample: int({
    help: 'K random cells, distinct as networks (seeded)',
    metavar: 'K',
    min: 1,
    max: NB201_DISTINCT_CELLS,
    maxWhy: `the space's ${NB201_NUM_CELLS} cells are ${NB201_DISTINCT_CELLS} distinct networks; --all takes all ${NB201_NUM_CELLS}`,
    conflicts: ['all'],
    conflictsWhy: '--sample K and --all both choose the cells: give one',
  }),
  all: flag({ help: `every cell of the space (${NB201_NUM_CELLS})` }),
  'ground-truth': flag({
    help: `restrict --sample/--all to the ${NB201_DISTINCT_CELLS} distinct cells of the shared accuracy table`,
  }),
  proxies: list({
    help: `proxies to compute; an aggregate (${[...AGGREGATORS.keys()].join(', ')}) adds its members and its population-level column ('vote': the ${voteMembersText()} vote as a Borda count; 'vote_majority': the same members by pairwise strict majority, the WRCor authors' comparator, as a Copeland count), 'all' every proxy. A proxy of a family computed in one pass brings the family's columns: ${proxyFamiliesText()}`,
    default: ['wrcor'],
    choices: proxyListChoices,
    retired: retiredProxies,
    noun: 'proxy',
    ignoreCase: true,
  }),
  ...proxyScoringOptions,
  group: text({
    help: `score N architectures together: their per-ReLU statistics (correlation matrices, activation patterns) share batched dispatches (${groupableProxiesText()} only; memory grows with N); 'auto': as many as the GPU's memory holds, halved whenever a group runs out of it (1 on software adapters, on the CPU backend and for other proxies)`,
    metavar: 'N|auto',
    default: 'auto',
    check: groupProblem,
  }),
  'group-mode': oneOf(GROUP_MODES, {
    help: "how a group runs: 'separate' builds each network and runs its passes one network after another; 'stacked' runs the group as ONE network, the architectures stacked along channels (grouped convolutions, per-network channel masks), so a group costs about one network's dispatches where recording them bounds a fast GPU, at several times the convolution FLOPs and memory (--group auto allows for it; --all's index order, where neighbouring cells share most edges, costs about half the extra of a random --sample: docs/results.md); the scores equal 'separate's within float rounding",
    default: 'separate',
  }),
  'cells-per-stage': cellsPerStage,
  channels: int({ help: 'stem width', default: 16, min: 1, max: 256, maxWhy: 'wider networks exceed GPU buffer limits' }),
  out: outFile({
    help: "write .csv, .jsonl or .json (by the extension in any case; another is CSV; rows: arch, one column per proxy, val_acc, time_ms; time_ms is the cell's wall time, and the first row each process scores (its first group's rows where cells are grouped) includes the process's one-time setup, seconds on a CPU against a fraction of one after: the final line gives the mean without them and the pool's peak memory; a score of Infinity, -Infinity or NaN is that text in CSV and that string in JSON); CSV/JSONL rows are appended and flushed as they finish, .json is written whole at the end; default: JSON lines on stdout, each as it is scored (with a population-level score such as vote, all at the end)",
  }),
  resume: flag({
    help: 'keep the rows already in --out (same proxies, batch, seed, network, --group-mode, device, CPU threads and minibatch images, refused naming the flag that differs; a score that is not a number is refused naming its row and column) and score only the remaining architectures',
    requires: ['out'],
    requiresWhy: '--resume needs --out FILE',
  }),
  force: flag({
    help: "start over when --out holds an interrupted run (its rows are discarded); a finished run's --out is replaced without it",
    requires: ['out'],
    requiresWhy: '--force starts --out FILE over; give --out FILE',
    conflicts: ['resume'],
    conflictsWhy: '--resume and --force contradict each other',
  }),
  device,
  'cpu-threads': submitCpuThreads,
  procs: int({
    help: `processes sharing the device, each recording its own groups: on a big GPU one process's dispatch recording is the bound, not the GPU. Each gets 1/N of the memory --group auto sizes for (a fixed --group G runs G per process) and, on the CPU, 1/N of the cores unless --cpu-threads: the rows are the same as one process's with that --cpu-threads (the CPU's results depend on it slightly; --out records it). On the CPU each process holds its own memory, its pool grown to the largest cell's working set: up to about ${CPU_PROCESS_MEMORY} at the default --batch ${proxyBatch.default} (in proportion to --batch, and to G with a fixed --group G); N of them above this machine's memory are refused, above what is available now warned of (docs/scale-out.md)`,
    metavar: 'N',
    default: 1,
    min: 1,
    max: 64,
    conflicts: ['redis', 'kernel-profile'],
    conflictsWhy: '--procs runs local processes: not with --redis (its workers) or --kernel-profile (one process)',
  }),
  'kernel-profile': kernelProfile,
  quiet,
  ...submitOptions,
  'shard-size': int({
    help: 'architectures per job on --redis (small: the work spreads evenly and a lost worker costs little; large: less queue traffic)',
    default: 4,
    min: 1,
    max: 1000,
    requires: ['redis'],
    requiresWhy: '--shard-size is for jobs on --redis URL',
  }),
};

export const SCORE = defineCommand({
  name: 'score',
  summary: 'score NAS-Bench-201 architectures with zero-cost proxies on one minibatch of --dataset',
  description:
    "Scores NAS-Bench-201 cells with zero-cost proxies on one minibatch of --dataset (CIFAR-10 by default), untrained, with a progress bar; each row carries the cell's NAS-Bench-201 CIFAR-10 validation accuracy where known. With --redis URL the architectures go as jobs to the workers there (wgnas worker) and their rows stream into the output as they arrive; the finished output is the same as a run on one machine (rows in the same order).",
  modes: [
    defineMode({
      id: 'score',
      module: 'score',
      label: 'wgnas score',
      usage: ['[--arch STR]... [--archs FILE] [--sample K | --all] [--ground-truth] [--redis URL] [options]'],
      options: SCORE_OPTIONS,
    }),
  ],
});
