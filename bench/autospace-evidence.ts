/**
 * AutoSpace evidence: does a search in the learned space find better architectures than the same
 * search in the hand-designed ProxylessNAS space, at the same MAdds budget?
 *
 *  1. evolve a space on CIFAR-10 under the budget (or load one with --space);
 *  2. in each space: the same zero-shot search (regularized evolution on WRCor, same proposals, same
 *     seed, architectures over the budget never proposed) and a random sample of the space under the
 *     budget (the space's quality without search);
 *  3. train each space's best found architecture from scratch for a few hundred steps (several
 *     seeds) and measure accuracy on the first 1000 test images of --dataset (992 before
 *     2026-12-06, when the evaluation dropped a last partial batch).
 * Writes a JSON of everything to --out and an evolved space to --save-space (default: result.json and
 * learned-space.json in a fresh bench/results/autospace-evidence/<date>/, with command and commit).
 *
 *   npx tsx bench/autospace-evidence.ts [--budget 3M] [--iterations 30] [--warmup 40] [--proposals 40] [--random 20]
 *                                       [--train-steps 400] [--seeds 2] [--space learned.json]
 *                                       [--min-budget 2.3M --evolve-budget 3M]  (compare in a MAdds band)
 *                                       [--warmup-mix population|random-k] [--skip hand-designed|learned]
 *                                       [--fitness-lr 0.1] [--min-evals 2] [--guide 4] [--replace-every 3] [--no-cell-lr-scale]
 *                                       [--init hand-designed|reference] [--max-nodes 3]
 *                                       [--max-latency-ms X]  (also at most X ms on this CPU: equal latency)
 *                                       [--search-seeds 1,2,3]  (repeat steps 2-3 per seed: proxy batch, search,
 *                                                                random sample and training seeds; default --seed)
 *                                       [--dataset cifar10|folder:PATH]  (bench-data.ts: the fetched CIFAR-10, else
 *                                                                the bundled subset; 4000 + 1000 training images
 *                                                                search, the first 1000 test images evaluate)
 * Every row records the CPU latency of its found architecture and random sample (cells priced through
 * the native addon, oneDNN, 1 thread, caches flushed), when the addon is built.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoSpace, DEFAULT_EVOLVE } from '../src/autospace/evolve.js';
import { scoreArch } from '../src/autospace/cell-arch-net.js';
import { cellSearchSpace } from '../src/autospace/search-space.js';
import { NativeUnavailableError } from '../src/native/binding.js';
import { searchCellSpace, trainCellArch } from '../src/autospace/search.js';
import { parseMadds } from '../src/cli/args.js';
import { type DeviceChoice, describeBackend, openBackend } from '../src/backend/index.js';
import { measuredCost } from '../src/mobilenet/cost/measured.js';
import { type CostModel, archCost } from '../src/mobilenet/cost/model.js';
import { CIFAR_LAYOUT } from '../src/mobilenet/layout.js';
import { archMadds } from '../src/mobilenet/madds.js';
import type { CellSpace } from '../src/mobilenet/space.js';
import { archJson, loadSpace, readSpaceFile, spaceFromLayout, writeSpaceFile } from '../src/mobilenet/space-file.js';
import { Rng } from '../src/util/rng.js';
import { benchProxyBatch, benchSearchSplit, benchTestSet, openBenchData } from './bench-data.js';
import { resultsDir, writeResult } from './results-dir.js';

const { values: v } = parseArgs({
  options: {
    budget: { type: 'string', default: '3M' },
    // Where the networks run (as wgnas --device): auto = a hardware GPU if there is one, else the CPU backend.
    device: { type: 'string', default: 'auto' },
    'evolve-budget': { type: 'string' },
    'min-budget': { type: 'string' },
    iterations: { type: 'string', default: '30' },
    steps: { type: 'string', default: String(DEFAULT_EVOLVE.steps) },
    warmup: { type: 'string', default: '40' },
    'warmup-mix': { type: 'string', default: DEFAULT_EVOLVE.warmupMix },
    'fitness-lr': { type: 'string', default: String(DEFAULT_EVOLVE.fitnessLr) },
    'min-evals': { type: 'string', default: String(DEFAULT_EVOLVE.minEvaluations) },
    guide: { type: 'string', default: String(DEFAULT_EVOLVE.guideIterations) },
    'replace-every': { type: 'string', default: String(DEFAULT_EVOLVE.replaceEvery) },
    'no-cell-lr-scale': { type: 'boolean', default: false },
    init: { type: 'string', default: DEFAULT_EVOLVE.init },
    'max-nodes': { type: 'string', default: String(DEFAULT_EVOLVE.maxNodes) },
    'max-latency-ms': { type: 'string' },
    skip: { type: 'string' },
    proposals: { type: 'string', default: '40' },
    random: { type: 'string', default: '20' },
    'train-steps': { type: 'string', default: '400' },
    seeds: { type: 'string', default: '2' },
    proxy: { type: 'string', default: 'wrcor' },
    space: { type: 'string' },
    // Default: both in a fresh bench/results/autospace-evidence/<date>/ (result.json, learned-space.json).
    'save-space': { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string', default: '1' },
    // The images (bench-data.ts): cifar10 = the fetched official set, else the bundled subset.
    dataset: { type: 'string' },
    'search-seeds': { type: 'string' },
  },
});
// The images first: a dataset that is not there is one line before any folder or device.
const images = await openBenchData(v.dataset, 'autospace-evidence');
if (images.note) process.stderr.write(`${images.note}\n`);
const runDir = v.out && v['save-space'] ? null : resultsDir('autospace-evidence');
const outFile = v.out ?? join(runDir!, 'result.json');
const spaceOut = v['save-space'] ?? join(runDir!, 'learned-space.json');
const budget = parseMadds(v.budget!);
// The evolution may run under a wider budget than the comparison band (default: the same).
const evolveBudget = v['evolve-budget'] ? parseMadds(v['evolve-budget']) : budget;
// Equal MAdds: with --min-budget both spaces only propose architectures inside the same band.
const minMadds = v['min-budget'] ? parseMadds(v['min-budget']) : 0;
const seed = Number(v.seed);
// One found network per space is +-2 points of accuracy: repeat the comparison over several seeds.
const searchSeedsArg = v['search-seeds'] ?? v.seed!;
const searchSeeds = searchSeedsArg.split(',').map(Number);
if (!searchSeeds.every((x) => Number.isInteger(x) && x >= 0))
  throw new Error(`--search-seeds must be a comma-separated list of integers >= 0, got '${searchSeedsArg}'`);
// The evolution settings this run changes from DEFAULT_EVOLVE (also recorded in the output).
const evolveOverrides = {
  iterations: Number(v.iterations),
  steps: Number(v.steps),
  warmupSteps: Number(v.warmup),
  warmupMix: v['warmup-mix'] as 'population' | 'random-k',
  fitnessLr: Number(v['fitness-lr']),
  minEvaluations: Number(v['min-evals']),
  guideIterations: Number(v.guide),
  replaceEvery: Number(v['replace-every']),
  scaleCellLr: !v['no-cell-lr-scale'],
  init: v.init as 'reference' | 'hand-designed',
  maxNodes: Number(v['max-nodes']),
};
const proxy = v.proxy!;
const maxLatencyMs = v['max-latency-ms'] === undefined ? undefined : Number(v['max-latency-ms']);
if (maxLatencyMs !== undefined && !(maxLatencyMs > 0))
  throw new Error(`--max-latency-ms must be > 0, got ${v['max-latency-ms']}`);
const log = (s: string) => process.stderr.write(s + '\n');

const data = await benchSearchSplit(images, 4000, 1000, 'autospace-evidence');
const test = await benchTestSet(images, 2000, 'autospace-evidence');
const gpu = await openBackend(v.device as DeviceChoice);

const t0 = performance.now();

let learned: CellSpace;
let evolveSeconds = 0;
let evolveHistory: unknown[] = [];
if (v.space) learned = readSpaceFile(v.space);
else {
  const evo = new AutoSpace(
    gpu,
    { ...DEFAULT_EVOLVE, layout: CIFAR_LAYOUT, budgetMadds: evolveBudget, ...evolveOverrides, seed },
    data,
  );
  const res = await evo.run(
    (e) =>
      log(
        `evolve ${e.iteration}/${e.iterations} loss ${e.trainLoss.toFixed(3)} val ${e.valLoss.toFixed(3)} acc ${(100 * e.trainAcc).toFixed(1)}% E[MAdds] ${(e.expectedMadds / 1e6).toFixed(2)}M replaced ${e.replaced}`,
      ),
    (k, l) => k % 20 === 0 && log(`warm-up ${k}/${v.warmup} loss ${l.toFixed(3)}`),
  );
  evo.dispose();
  evolveSeconds = res.seconds;
  evolveHistory = res.history.map((e) => ({
    iteration: e.iteration,
    trainLoss: e.trainLoss,
    trainAcc: e.trainAcc,
    valLoss: e.valLoss,
    expectedMadds: e.expectedMadds,
    replaced: e.replaced,
    mixed: e.mixed,
  }));
  mkdirSync(dirname(spaceOut), { recursive: true });
  writeSpaceFile(spaceOut, res.space);
  learned = loadSpace(res.space);
  log(`learned space written to ${spaceOut} (${res.seconds.toFixed(0)} s)`);
}
const hand = spaceFromLayout(CIFAR_LAYOUT);

const rows: Record<string, unknown>[] = [];
let cpuLatencyMeta: Record<string, string> | null = null;
// One op-time cache for both spaces: an op the two spaces share gets one measurement.
const opMs = new Map<string, number>();
const sides = [
  ['hand-designed', hand],
  ['learned', learned],
] as const;
// CPU latency of each space's cells (the ceiling's input, and reported for every row when the addon
// is there), priced back to back before any GPU work with one op cache, so both sides see one machine state.
const latencies = new Map<string, CostModel>();
for (const [name, space] of sides) {
  if (v.skip === name) continue;
  try {
    latencies.set(name, await measuredCost(space, { cache: opMs }));
  } catch (e) {
    if (maxLatencyMs !== undefined || !(e instanceof NativeUnavailableError)) throw e;
    log(`no CPU latencies: ${(e as Error).message.split('\n')[0]}`);
  }
}
// Each search seed shadows --seed below (the evolution above used --seed).
for (const seed of searchSeeds) {
  const batch = await benchProxyBatch(images, 64, seed, 'autospace-evidence');
  for (const [name, space] of sides) {
    // --skip hand-designed: that side does not depend on the evolution (reuse an earlier run's row).
    if (v.skip === name) continue;
    const latency = latencies.get(name) ?? null;
    cpuLatencyMeta = latency?.meta ?? cpuLatencyMeta;
    const latencyLimit = maxLatencyMs !== undefined ? { latency: latency!, maxLatencyMs } : undefined;
    const msOf = (a: number[]) => (latency ? archCost(latency, a) : null);
    // The space without search: a random sample under the budget.
    const ss = cellSearchSpace(space, budget, minMadds, latencyLimit);
    const rng = new Rng(seed + 100);
    const randomScores: number[] = [];
    const randomMadds: number[] = [];
    const randomMs: number[] = [];
    for (let i = 0; i < Number(v.random); i++) {
      const a = ss.sample(rng);
      randomScores.push((await scoreArch(gpu, space, a, [proxy], batch, seed)).scores[proxy]);
      randomMadds.push(archMadds(space, a));
      if (latency) randomMs.push(msOf(a)!);
    }
    const found = await searchCellSpace(gpu, space, {
      proxy,
      strategy: 'evolution',
      budget: Number(v.proposals),
      budgetMadds: budget,
      minMadds,
      latencyLimit,
      batchSize: 64,
      seed,
      onScored: (d, n, ms) => d % 10 === 0 && log(`${name}: search ${d}/${n} (${(ms / 1000).toFixed(2)} s/arch)`),
    });
    const trained = [];
    for (let s = 0; s < Number(v.seeds); s++) {
      const r = await trainCellArch(gpu, space, found.choices, data.train, test, {
        steps: Number(v['train-steps']),
        batchSize: 32,
        lr: 0.05,
        seed: seed + s,
        evalImages: 1000,
      });
      log(`${name}: trained seed ${s}: test acc ${(100 * r.testAcc).toFixed(1)}% (${r.msPerStep.toFixed(0)} ms/step)`);
      trained.push({ seed: seed + s, testAcc: r.testAcc, finalTrainLoss: r.finalTrainLoss, msPerStep: r.msPerStep });
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push({
      space: name,
      searchSeed: seed,
      cellsPerLayer: space.cells.map((c) => c.length),
      randomMeanScore: mean(randomScores),
      randomMeanMadds: mean(randomMadds),
      randomBestScore: Math.max(...randomScores),
      bestScore: found.score,
      bestMadds: archMadds(space, found.choices),
      randomMeanLatencyMs: latency ? mean(randomMs) : null,
      bestLatencyMs: msOf(found.choices),
      best: archJson(space, found.choices),
      secondsPerArch: found.secondsPerArch,
      trained,
      meanTestAcc: mean(trained.map((t) => t.testAcc)),
    });
    log(
      `${name} (seed ${seed}): random mean ${proxy} ${mean(randomScores).toFixed(2)}, search best ${found.score.toFixed(2)} at ${(archMadds(space, found.choices) / 1e6).toFixed(2)} M MAdds${latency ? `, ${msOf(found.choices)!.toFixed(3)} ms CPU` : ''}, short-train acc ${(100 * mean(trained.map((t) => t.testAcc))).toFixed(1)}%`,
    );
  }
}
const out = {
  date: new Date().toISOString(),
  dataset: { spec: images.spec, name: images.train.name, trainImages: images.train.count },
  adapter: describeBackend(gpu),
  device: gpu.device,
  budgetMadds: budget,
  minMadds,
  evolveBudgetMadds: evolveBudget,
  evolveConfig: v.space ? null : evolveOverrides,
  proxy,
  searchSeeds,
  maxLatencyMs: maxLatencyMs ?? null,
  cpuLatency: cpuLatencyMeta,
  proposals: Number(v.proposals),
  randomSample: Number(v.random),
  trainSteps: Number(v['train-steps']),
  evolveSeconds,
  evolveHistory,
  seconds: (performance.now() - t0) / 1000,
  rows,
};
log(`wrote ${writeResult(outFile, JSON.stringify(out, null, 2) + '\n')}`);
gpu.dispose();
