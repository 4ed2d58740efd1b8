/** Options several commands share (one declaration each, so help and docs agree everywhere). */
import { DEVICE_CHOICES } from '../../backend/select.js';
import { datasetSpecProblem } from '../../data/dataset-spec.js';
import { SEARCH_SPLIT_DEFAULT } from '../../data/search-split.js';
import { AGGREGATORS, PROXIES, RETIRED_PROXIES } from '../../proxies/registry.js';
import { flag, int, oneOf, outFile, seed, text } from '../spec.js';
import { CPU_THREADS_ENV } from '../environment.js';
import { PROXY_INPUTS } from '../../proxies/batch.js';
import { NB201_LIVE_CELLS } from '../../spaces/nb201.js';

/** Proxy names a --proxies list accepts: the registry's, its aggregators ('vote', 'vote_majority', 'az_nas', 'ensemble': members + a population ranking) and 'all'. */
export const proxyListChoices = (): string[] => [...PROXIES.keys(), ...AGGREGATORS.keys(), 'all'];
/** One proxy to drive a search: a registry name or an aggregator (the vote). */
export const searchProxyChoices = (): string[] => [...PROXIES.keys(), ...AGGREGATORS.keys()];
/** Former proxy names and what each is now (refused in one line where a proxy option is given one). */
export const retiredProxies = (): ReadonlyMap<string, string> => RETIRED_PROXIES;

/** "a, b and c" */
export function andList(xs: readonly string[]): string {
  return xs.length > 1 ? `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}` : (xs[0] ?? '');
}

/** A proxy unit in words: a family whose names share its first one's prefix as `first*`. */
function unitText(names: readonly string[]): string {
  return names.length > 1 && names.every((n) => n.startsWith(names[0])) ? `${names[0]}*` : names.join(', ');
}

/** The proxies --group batches, from the registry: "wrcor*, naswot, params and flops". */
export function groupableProxiesText(): string {
  const units = new Set([...PROXIES.values()].filter((p) => p.groupable).map((p) => p.unit));
  return andList([...units].map((u) => unitText(u.names)));
}

/** The families (several scores of one pass: asking for one reports all), from the registry. */
export function proxyFamiliesText(): string {
  const units = new Set([...PROXIES.values()].map((p) => p.unit));
  return [...units]
    .filter((u) => u.names.length > 1)
    .map((u) => u.names.join(', '))
    .join('; ');
}

/** The vote's members as the registry has them: "wrcor+synflow+jacob_cov". */
export function voteMembersText(): string {
  return AGGREGATORS.get('vote')!.members.join('+');
}

/**
 * Distinct networks of NAS-Bench-201: the 'live' canonical forms (a cell with dead edges computes the same
 * network as a smaller one), which are exactly the cells of the shared accuracy table.
 */
export const NB201_DISTINCT_CELLS = NB201_LIVE_CELLS;

/** At most the training images of --dataset (checked once it is opened). */
export const proxyBatch = int({
  help: 'minibatch size for the proxies (at most the training images of --dataset)',
  default: 64,
  min: 2,
});
export const proxySeed = seed(0, 'weight-init and batch seed');
export const proxyInit = oneOf(['pytorch', 'kaiming', 'gaussian'], {
  help: "initialisation of the scored networks: 'pytorch' PyTorch's defaults (what the PyTorch reference scores use), 'kaiming' kaiming-normal weights and zero biases (AZ-NAS's and VKDNW's code), 'gaussian' N(0, 1) weights and zero biases (SWAP's code, Zen-NAS's); vkdnw and zen keep the init their definitions fix",
  default: 'pytorch',
});
export const proxyInputs = oneOf(PROXY_INPUTS, {
  help: "what the networks see: 'data' the --dataset minibatch, 'gaussian' N(0, 1) images drawn from --seed (AZ-NAS's published NAS-Bench-201 setup; the labels stay the minibatch's)",
  default: 'data',
});
export const cellsPerStage = int({ help: 'network depth per stage (NAS-Bench-201: 5)', default: 5, min: 1, max: 32 });
export const quiet = flag({
  help: 'no progress on stderr (a bar on a terminal; otherwise, as in a log file, a plain line every 5%, at most one per 30 s, and one at the end)',
});
export const backend = oneOf(['onednn', 'xnnpack'], { help: 'native profiler library', default: 'onednn' });
export const threads = int({ help: 'library threads', default: 1, min: 1, max: 1024 });
export const json = flag({ help: 'print the result as JSON' });

/** The supernet searches' split of the training images; the defaults follow --dataset (cli/dataset.ts runSplitSizes). */
const SPLIT_TOTAL = SEARCH_SPLIT_DEFAULT.train + SEARCH_SPLIT_DEFAULT.val;
export const trainSplit = int({
  help: 'train split size: N of the first --train + --val training images of --dataset, split class by class with --val (--train + --val at most the images it has)',
  defaultText: `${SEARCH_SPLIT_DEFAULT.train}, or 4/5 of the training images of a --dataset with fewer than ${SPLIT_TOTAL}`,
  min: 1,
});
export const valSplit = int({
  help: 'validation split size: the other N, each class in proportion (on balanced data the N images after --train)',
  defaultText: `${SEARCH_SPLIT_DEFAULT.val}, or the other 1/5 of a --dataset with fewer than ${SPLIT_TOTAL}`,
  min: 1,
});

/** Where the networks run; every command that computes takes it (with cpuThreads). */
export const device = oneOf(DEVICE_CHOICES, {
  help: "where the networks run: 'cpu' the native backend (oneDNN), 'gpu' the WGSL kernels on the WebGPU adapter (a software one, lavapipe, too: slow, for testing the WGSL), 'auto' a hardware GPU if there is one, else the CPU",
  default: 'auto',
  metavar: 'DEVICE',
});
/** Per-kernel timing of a run (src/cli/kernel-profile.ts); local runs only. */
export const kernelProfile = outFile({
  help: "write where the device's time went, by kernel, as JSON, and print a summary line: on the GPU each dispatch runs in its own timestamped pass (so a profiled run is somewhat slower) with its host recording time; on the CPU the native worker's time per op; the first pass (with --group auto on a GPU, the probe and the first group, or the first packed --group-mode stacked group), which compiles the pipelines, is left out when more follow; a run with none to spare is profiled from its last pass, unwarmed, which the file (warmedUp: false) and the line say; the file also holds the whole run's pool peak (pool: peakBytesInUse, peakBytesAllocated)",
  conflicts: ['redis'],
  conflictsWhy: '--kernel-profile times the kernels of this process; jobs on --redis run on the workers',
});
/** CPU backend threads: its own name, as --threads sets the latency profiler's library threads. */
export const cpuThreads = int({
  help: "CPU backend threads (--device cpu, or auto without a hardware GPU). Results depend on the count (oneDNN splits its sums by thread): scores move by rounding, training and searches that train follow another trajectory; to reproduce a run give the count its result files' provenance records (docs/reliability.md)",
  defaultText: '$WGNAS_CPU_THREADS, else every core',
  env: CPU_THREADS_ENV,
  min: 1,
  max: 1024,
  appliesWhen: { option: 'device', values: ['auto', 'cpu'] },
});

/** The images a command reads; the network's classifier follows its class count. */
export const dataset = text({
  help:
    "images to read: 'cifar10' (the full official set once fetched with wgnas data fetch cifar10, else the 5000-image subset cifar10/train_5000.bin of a data root such as a development checkout's ../shared/data, said in one line), " +
    "'cifar100' (fetched with wgnas data fetch cifar100; fine labels), or 'folder:PATH' (one sub-folder of JPEG/PNG images per class, resized and centre-cropped; " +
    'PATH/train and PATH/test (or val) give the test split; PATH/train alone serves commands that read training images only). The network has as many outputs as the dataset has classes',
  metavar: 'NAME',
  default: 'cifar10',
  check: datasetSpecProblem,
});

/**
 * The settings a proxy score depends on (besides the network), in one place for score and for
 * correlate --sample, which scores cells as score does.
 */
export const proxyScoringOptions = { batch: proxyBatch, seed: proxySeed, init: proxyInit, inputs: proxyInputs, dataset };
