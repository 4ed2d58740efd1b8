import { AGGREGATORS, PROXIES } from '../../proxies/registry.js';
import { defineCommand, defineMode, flag, inFiles, int, list, oneOf, outFile } from '../spec.js';
import {
  cellsPerStage,
  cpuThreads,
  device,
  NB201_DISTINCT_CELLS,
  proxyListChoices,
  proxyScoringOptions,
  quiet,
  retiredProxies,
  searchProxyChoices,
} from './common.js';

/** Bootstrap confidence intervals of tau and rho (both modes that correlate fresh or stored scores). */
const bootstrap = int({
  help: 'bootstrap resamples for the 95% confidence intervals of tau and rho (0: none; none below 10 cells)',
  default: 1000,
  min: 0,
  max: 100000,
});
const bootstrapSeed = int({ help: 'seed of the bootstrap resampling', default: 0, min: 0, max: 2 ** 31 - 1 });

/** Paired comparisons: the bootstrap of a DIFFERENCE of correlations over the same resampled cells. */
const versus = list({
  help: "paired bootstrap of each --proxies name (default: each column) against each of these: the difference of tau (and rho) over the same resampled cells (only cells all have), its 95% interval and the fraction of resamples with the proxy ahead; and tau_ab, the Kendall tau between the two proxies' own scores (how alike their rankings are)",
  choices: searchProxyChoices,
  retired: retiredProxies,
  noun: 'proxy',
  ignoreCase: true,
  conflicts: ['paired'],
  conflictsWhy: '--versus compares against named proxies, --paired every pair: give one',
});
const paired = flag({ help: 'paired bootstrap (as --versus) of every pair of the --proxies names (default: of the columns)' });

export const CORRELATE_SAMPLE_OPTIONS = {
  sample: int({
    help: 'score K random cells with known accuracy now, then correlate',
    metavar: 'K',
    default: 50,
    min: 2,
    max: NB201_DISTINCT_CELLS,
    maxWhy: `${NB201_DISTINCT_CELLS} cells have ground-truth accuracy`,
  }),
  proxies: list({
    help: 'proxies to score (a family scored in one pass brings its columns, as in score --proxies)',
    default: ['wrcor', 'naswot', 'synflow', 'jacob_cov', 'vote'],
    choices: proxyListChoices,
    retired: retiredProxies,
    noun: 'proxy',
    ignoreCase: true,
  }),
  ...proxyScoringOptions,
  'cells-per-stage': cellsPerStage,
  out: outFile({
    help: 'also write the per-cell scores, as score --out does (.csv, .jsonl or .json by the extension in any case; another is CSV)',
  }),
  bootstrap,
  'bootstrap-seed': bootstrapSeed,
  versus,
  paired,
  device,
  'cpu-threads': cpuThreads,
  quiet,
};

/** A built-in proxy's merge tolerance as the registry has it ("1e-5"), for the help. */
const rtol = (name: string): string => PROXIES.get(name)!.mergeRtol.toExponential();

export const CORRELATE_SCORES_OPTIONS = {
  scores: inFiles({
    help: `a .csv, .jsonl or .json (by the extension in any case) written by 'wgnas score --out' (columns arch, <proxy>..., time_ms); the files are read as one population: files scored with different settings (their FILE.settings.json: batch, seed, network, dataset and images, init, inputs; not the device, CPU threads or score --group-mode, which move scores only at float rounding) are refused, a cell in several files counts once (its scores merged; the same score again, within the proxy's merge tolerance (${rtol('params')} relative for params and flops, ${rtol('wrcor')} for wrcor and naswot, up to ${rtol('zico')} for zico, whose two half-batch gradients cancel: the table in docs/reliability.md), is dropped, another one refused); a * or ? in the file name matches several (quote it); each aggregate (${[...AGGREGATORS.keys()].join(', ')}) ranks a population, so it is computed from its members over all the cells read wherever every cell has them (a file's own column of it, which ranked that file's cells alone, is replaced: shards merge into the figures of one file); without the members a file's own column is kept if one file gave it, refused if several did. A score is a number, 'Infinity', '-Infinity' or 'NaN' (a JSON null, as older versions wrote them, is NaN), or empty (not scored): a correlation leaves out the cells without a finite score, an aggregate ranks a non-finite score last; the PyTorch reference tau is over the same cells as the proxy's. A file of an earlier WRCor definition is read under the current names, alone or beside others, said in a note: its wrcor (2^stage in definitions 1 and 2) as wrcor_stage, its wrcor_act and wrcor_grad as wrcor_stage_act and wrcor_stage_grad, definition 2's wrcor_module as wrcor`,
    noun: 'scores file',
  }),
  proxies: list({
    help: "only these columns (default: every proxy column of the files): proxy names (an aggregate is computed from its members' columns over all the cells read, --scores), 'all' (every proxy column of the files, and each aggregate whose members they have), or any other numeric column of the files such as time_ms (matched exactly first, then registry names in any case; not the arch or accuracy columns)",
    noun: 'proxy',
  }),
  dataset: oneOf(['cifar10', 'cifar100', 'ImageNet16-120'] as const, {
    help: "ground truth: CIFAR-10 validation accuracy (9445 cells), or NASLib's CIFAR-100 / ImageNet16-120 accuracies (zc_nasbench201.json, 725 cells; others are left out)",
    default: 'cifar10',
  }),
  bootstrap,
  'bootstrap-seed': bootstrapSeed,
  // Any column of the files, not only registry names (checked against the files' columns).
  versus: { ...versus, choices: undefined, help: `${versus.help}; proxy names or any other column of the files` },
  paired,
};

export const CORRELATE_REFERENCE_OPTIONS = {
  reference: flag({
    help: "the PyTorch reference scores of nb201_zc_proxies.csv (9445 cells; a development checkout's ../shared/data has it, the package does not)",
  }),
};

export const CORRELATE = defineCommand({
  name: 'correlate',
  summary: 'Kendall tau / Spearman rho of proxies vs NAS-Bench-201 ground truth',
  description:
    'Rank correlation (Kendall tau-b, Spearman rho) of proxy scores with NAS-Bench-201 CIFAR-10 validation accuracy (the shared nb201 tables): of cells scored now (--sample, the default), of score files (--scores), or of the PyTorch reference scores (--reference).',
  modes: [
    defineMode({
      id: 'sample',
      module: 'correlate',
      label: '--sample',
      usage: ['[--sample K] [--proxies LIST] [--batch N] [--seed N] [--out FILE]'],
      options: CORRELATE_SAMPLE_OPTIONS,
    }),
    defineMode({
      id: 'scores',
      module: 'correlate',
      label: '--scores',
      select: { option: 'scores' },
      usage: ['--scores FILE... [--proxies LIST] [--dataset D] [--bootstrap N] [--versus LIST | --paired]'],
      options: CORRELATE_SCORES_OPTIONS,
    }),
    defineMode({
      id: 'reference',
      module: 'correlate',
      label: '--reference',
      select: { option: 'reference' },
      usage: ['--reference'],
      options: CORRELATE_REFERENCE_OPTIONS,
    }),
  ],
});
