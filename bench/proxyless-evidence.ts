/**
 * ProxylessNAS evidence: does the searched network train better than random networks of the same
 * predicted latency?
 *
 *  1. search the CIFAR layout under the Pixel-1 latency table at --target-ms (gradient, hinge loss);
 *  2. sample --random architectures of the same space uniformly, keeping those whose table latency is
 *     within --band (relative) of the derived network's;
 *  3. train the derived network and each random one from scratch (--train-steps, --seeds) and measure
 *     accuracy on the first --eval test images.
 * Writes everything (search history included) to --out.
 *
 *   npx tsx bench/proxyless-evidence.ts [--target-ms 60] [--warmup 200] [--steps 300] [--random 3]
 *                                       [--train-steps 400] [--seeds 2] [--band 0.05]
 *                                       [--arch-every 5] [--arch-warmup-steps 125] [--label-smoothing 0.1]
 *                                       [--arch-init-std 0.001] [--arch-lr 0.05] [--dataset cifar10|folder:PATH]
 * The images come from --dataset (bench-data.ts: the fetched CIFAR-10, else the bundled subset of a
 * development checkout): the first 4000 + 1000 training images are the search split, the first
 * --eval test images the evaluation.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dataFile } from '../src/data/paths.js';
import { type DeviceChoice, describeBackend, openBackend } from '../src/backend/index.js';
import { readLatencyTable } from '../src/latency/lut.js';
import { archCost, latencyScope } from '../src/mobilenet/cost/model.js';
import { tableCost } from '../src/mobilenet/cost/table.js';
import { CIFAR_LAYOUT, candidateName, searchPositions } from '../src/mobilenet/layout.js';
import { trainFixed } from '../src/mobilenet/train.js';
import { mergeProgress, plotDataFromSearch, searchPlotSvg } from '../src/proxyless/plot.js';
import { DEFAULT_SEARCH, type ProgressEvent, ProxylessSearch } from '../src/proxyless/search.js';
import { Rng } from '../src/util/rng.js';
import { mixSeed } from '../src/util/seed.js';
import { benchSearchSplit, benchTestSet, openBenchData } from './bench-data.js';
import { resultsDir, writeResult } from './results-dir.js';
import { writeFileAtomic } from '../src/util/durable.js';

const { values: v } = parseArgs({
  options: {
    // Default: the Pixel 1 table from the data roots (src/data/paths.ts: $WGNAS_DATA_DIR first).
    'latency-table': { type: 'string' },
    // Where the networks run (as wgnas --device): auto = a hardware GPU if there is one, else the CPU backend.
    device: { type: 'string', default: 'auto' },
    'target-ms': { type: 'string', default: '60' },
    warmup: { type: 'string', default: '200' },
    steps: { type: 'string', default: '300' },
    'arch-lr': { type: 'string', default: '0.05' },
    // The authors' schedule (search-config.ts): α every 5 weight steps, none in the first search
    // epoch (125 steps: one pass over the 4000-image train split at batch 32), label smoothing 0.1
    // on the weight steps, α from N(0, 1e-3).
    'arch-every': { type: 'string', default: String(DEFAULT_SEARCH.archEvery) },
    'arch-warmup-steps': { type: 'string', default: '125' },
    'label-smoothing': { type: 'string', default: String(DEFAULT_SEARCH.labelSmoothing) },
    'arch-init-std': { type: 'string', default: String(DEFAULT_SEARCH.alphaInitStd) },
    lambda: { type: 'string', default: '2' },
    random: { type: 'string', default: '3' },
    band: { type: 'string', default: '0.05' },
    'train-steps': { type: 'string', default: '400' },
    seeds: { type: 'string', default: '2' },
    eval: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    // The images (bench-data.ts): cifar10 = the fetched official set, else the bundled subset.
    dataset: { type: 'string' },
    // Default: result.json in a fresh bench/results/proxyless-evidence/<date>/ (with command and commit).
    out: { type: 'string' },
    plot: { type: 'string' },
  },
});
const num = (k: keyof typeof v) => {
  const x = Number(v[k]);
  if (!Number.isFinite(x)) throw new Error(`--${k} must be a number, got '${v[k]}'`);
  return x;
};
const latencyTable = v['latency-table'] ?? dataFile('latency', 'proxylessnas_mobile_trim.yaml');
// The images first: a dataset that is not there is one line before any folder or device.
const images = await openBenchData(v.dataset, 'proxyless-evidence');
if (images.note) process.stderr.write(`${images.note}\n`);
const outFile = v.out ?? join(resultsDir('proxyless-evidence'), 'result.json');
const targetMs = num('target-ms');
const seed = num('seed');
const log = (s: string) => process.stderr.write(s + '\n');

const data = await benchSearchSplit(images, 4000, 1000, 'proxyless-evidence');
const test = await benchTestSet(images, num('eval'), 'proxyless-evidence');
const gpu = await openBackend(v.device as DeviceChoice);
const layout = CIFAR_LAYOUT;
const priced = tableCost(readLatencyTable(latencyTable), layout);
if (!priced.cost) throw new Error(`the latency table has no entry for ${priced.missing.join(', ')}`);
const latency = priced.cost;

const names = (choices: readonly number[]) => searchPositions(layout).map((p, b) => candidateName(p.candidates[choices[b]]));
const t0 = performance.now();

// 1. search
const cfg = {
  ...DEFAULT_SEARCH,
  layout,
  paths: 1 as const,
  costLoss: { kind: 'hinge' as const, target: targetMs, lambda: num('lambda'), beta: 0.3 },
  warmupSteps: num('warmup'),
  searchSteps: num('steps'),
  archEvery: num('arch-every'),
  archWarmupSteps: num('arch-warmup-steps'),
  labelSmoothing: num('label-smoothing'),
  alphaInitStd: num('arch-init-std'),
  arch: { ...DEFAULT_SEARCH.arch, lr: num('arch-lr') },
  seed,
  logEvery: 1,
};
const search = new ProxylessSearch(gpu, cfg, data, latency);
const probsAt = new WeakMap<ProgressEvent, number[][]>();
let pending: ProgressEvent[] = [];
const res = await search.run((e) => {
  if (v.plot) probsAt.set(e, search.probs);
  pending.push(e);
  if (e.step % 25 === 0 || e.step === e.total) {
    const m = mergeProgress(pending);
    pending = [];
    log(
      `${m.phase} ${m.step}/${m.total} loss ${m.trainLoss.toFixed(3)} acc ${(100 * m.trainAcc).toFixed(1)}% E[lat] ${m.expectedCost?.toFixed(1) ?? '-'} argmax ${m.argmaxCost?.toFixed(1) ?? '-'} H ${m.entropy.toFixed(3)}`,
    );
  }
});
search.dispose();
const foundMs = archCost(latency, res.choices);
log(`derived ${foundMs.toFixed(2)} ms: ${res.names.join(' ')} (${res.seconds.toFixed(0)} s)`);
if (v.plot) {
  const pd = plotDataFromSearch(res, { target: targetMs, warmupSteps: cfg.warmupSteps, probsOf: (e) => probsAt.get(e) });
  writeFileAtomic(
    v.plot,
    searchPlotSvg(pd, {
      title: `ProxylessNAS search, target ${targetMs} ms${latencyScope(latency) ? ` (${latencyScope(latency)})` : ''}`,
      subtitle: `CIFAR layout, hinge, 1 path, warm-up ${cfg.warmupSteps} + ${cfg.searchSteps} steps (α every ${cfg.archEvery} after ${cfg.archWarmupSteps}), batch 32: derived ${foundMs.toFixed(2)} ms`,
    }),
  );
}

// 2. random architectures of similar latency (rejection sampling, uniform over candidates)
const band = num('band');
const rng = new Rng(mixSeed(seed, 4242));
const randoms: number[][] = [];
for (let tries = 0; randoms.length < num('random'); tries++) {
  if (tries > 1_000_000) throw new Error(`no random architecture within ${100 * band}% of ${foundMs.toFixed(2)} ms`);
  const c = latency.perPosition.map((row) => rng.int(row.length));
  const ms = archCost(latency, c);
  if (Math.abs(ms - foundMs) <= band * foundMs && c.join() !== res.choices.join()) randoms.push(c);
}

// 3. train each from scratch
const seeds = [...Array(num('seeds')).keys()];
async function trainAll(label: string, choices: number[]) {
  const runs = [];
  for (const s of seeds) {
    const r = await trainFixed(gpu, layout, choices, data.train, test, {
      steps: num('train-steps'),
      batchSize: 32,
      lr: DEFAULT_SEARCH.weightLr,
      weightDecay: DEFAULT_SEARCH.weightDecay,
      seed: s,
      augment: true,
      evalImages: num('eval'),
    });
    log(
      `${label} seed ${s}: test acc ${(100 * r.testAcc).toFixed(1)}%, final loss ${r.finalTrainLoss.toFixed(3)} (${r.msPerStep.toFixed(0)} ms/step)`,
    );
    runs.push({ seed: s, testAcc: r.testAcc, finalTrainLoss: r.finalTrainLoss, msPerStep: r.msPerStep });
  }
  const meanAcc = runs.reduce((a, r) => a + r.testAcc, 0) / runs.length;
  return { label, choices, names: names(choices), latencyMs: archCost(latency, choices), runs, meanAcc };
}
const found = await trainAll('found', res.choices);
const random = [];
for (const [i, c] of randoms.entries()) random.push(await trainAll(`random ${i}`, c));
const randomMean = random.reduce((a, r) => a + r.meanAcc, 0) / random.length;
log(
  `found ${(100 * found.meanAcc).toFixed(1)}% vs random mean ${(100 * randomMean).toFixed(1)}% (best random ${(100 * Math.max(...random.map((r) => r.meanAcc))).toFixed(1)}%)`,
);

const out = {
  date: new Date().toISOString(),
  dataset: { spec: images.spec, name: images.train.name, trainImages: images.train.count },
  adapter: describeBackend(gpu),
  device: gpu.device,
  config: { ...v, 'latency-table': latencyTable, out: outFile, layout: layout.name },
  search: {
    choices: res.choices,
    names: res.names,
    latencyMs: foundMs,
    expectedMs: res.expectedCost,
    probs: res.probs,
    seconds: res.seconds,
    history: res.history.map((e) => ({
      phase: e.phase,
      step: e.step,
      trainLoss: e.trainLoss,
      trainAcc: e.trainAcc,
      archCe: e.archCe,
      expectedMs: e.expectedCost,
      argmaxMs: e.argmaxCost,
      entropy: e.entropy,
    })),
  },
  found,
  random,
  randomMeanAcc: randomMean,
  seconds: (performance.now() - t0) / 1000,
};
log(`wrote ${writeResult(outFile, JSON.stringify(out, null, 1) + '\n')}`);
