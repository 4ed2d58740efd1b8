/**
 * ProxylessNAS weight sharing, isolated: the CIFAR supernet with N copies of one cell (MBConv k3 e6)
 * per searchable layer, each copy with its own weights, trained by the search's weight step
 * (search-steps.ts weightStep: one uniformly sampled copy per layer and step) on the first 4000
 * training images. N = 1 is a plain network; N = 2 differs from it only by which copy's weights a
 * step runs and updates, exactly (test/proxyless/path-equivalence.test.ts). So the gap between
 * them is weight sharing's cost. --pin always samples copy 0; --tie starts the copies from equal
 * weights. Prints the train loss and accuracy per --window steps, the validation accuracy of the
 * path through copy 0 (4 batches, batch statistics, as `wgnas proxyless` reports its derived path),
 * and with 2 copies how far their weights drifted apart per layer.
 *
 *   npx tsx bench/proxyless-sharing.ts [--copies 1|2] [--pin] [--tie] [--steps 150] [--lr 0.05]
 *                                      [--augment] [--label-smoothing 0] [--device cpu] [--out FILE]
 * Default --out: result.json in a fresh bench/results/proxyless-sharing/<date>/ (with command and commit).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type DeviceChoice, describeBackend, openBackend } from '../src/backend/index.js';
import { batchSource } from '../src/data/batch-stream.js';
import { cosineLr } from '../src/kernels/optim.js';
import { referenceCell } from '../src/mobilenet/cell.js';
import { CIFAR_LAYOUT, layerShapes } from '../src/mobilenet/layout.js';
import { handDesignedSpace } from '../src/mobilenet/space-file.js';
import { AlphaAdam, WeightSgd } from '../src/nn/optim.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig } from '../src/proxyless/search.js';
import { type SearchParts, evaluateChoices, weightStep } from '../src/proxyless/search-steps.js';
import { ProxylessSupernet } from '../src/proxyless/supernet.js';
import { Rng } from '../src/util/rng.js';
import { mixSeed } from '../src/util/seed.js';
import { benchSearchSplit, openBenchData } from './bench-data.js';
import { resultsDir, writeResult } from './results-dir.js';

const { values: v } = parseArgs({
  options: {
    copies: { type: 'string', default: '2' },
    pin: { type: 'boolean', default: false },
    tie: { type: 'boolean', default: false },
    steps: { type: 'string', default: '150' },
    lr: { type: 'string', default: '0.05' },
    augment: { type: 'boolean', default: false },
    'label-smoothing': { type: 'string', default: '0' },
    window: { type: 'string', default: '25' },
    seed: { type: 'string', default: '1' },
    device: { type: 'string', default: 'cpu' },
    threads: { type: 'string', default: '1' },
    dataset: { type: 'string' },
    out: { type: 'string' },
  },
});
const num = (k: keyof typeof v) => {
  const x = Number(v[k]);
  if (!Number.isFinite(x)) throw new Error(`--${k} must be a number, got '${v[k]}'`);
  return x;
};
const copies = num('copies');
if (copies !== 1 && copies !== 2) throw new Error(`--copies must be 1 or 2, got ${copies}`);
const [steps, lr0, window, seed] = [num('steps'), num('lr'), num('window'), num('seed')];
const images = await openBenchData(v.dataset, 'proxyless-sharing');
if (images.note) process.stderr.write(`${images.note}\n`);
const data = await benchSearchSplit(images, 4000, 1000, 'proxyless-sharing');
const outFile = v.out ?? join(resultsDir('proxyless-sharing'), 'result.json');
const backend = await openBackend(v.device as DeviceChoice, { threads: num('threads') });
const log = (s: string) => process.stderr.write(s + '\n');

const layout = CIFAR_LAYOUT;
const shapes = layerShapes(layout);
const cells = shapes.map((sh) => Array.from({ length: copies }, () => referenceCell(sh)));
const cfg: ProxylessSearchConfig = {
  ...DEFAULT_SEARCH,
  layout,
  // A space literal: a space file may not list a cell twice (space-file.ts), the library takes any cells.
  space: { file: handDesignedSpace(layout), layout, shapes, cells },
  costLoss: null,
  augment: v.augment,
  labelSmoothing: num('label-smoothing'),
  seed,
};
const net = new ProxylessSupernet(backend, layout, new Rng(mixSeed(seed, 0x5eed)), { cells, bnEps: cfg.bnEps });
const params = net.paramMap();
if (v.tie)
  for (const [name, p] of params)
    if (/^b\d+\.c1\./.test(name)) backend.copy(params.get(name.replace('.c1.', '.c0.'))!.value, p.value);
const parts: SearchParts = {
  backend,
  cfg,
  net,
  cost: null,
  sgd: new WeightSgd(backend, net.params, { momentum: cfg.momentum, nesterov: cfg.nesterov, weightDecay: cfg.weightDecay }),
  adam: new AlphaAdam(backend, net.choiceSizes, cfg.arch),
  trainStream: batchSource(data.train, cfg.batchSize, mixSeed(seed, 1)),
  valStream: batchSource(data.val, cfg.valBatchSize, mixSeed(seed, 2)),
};
// Uniform α samples each copy with probability 1/N; --pin makes copy 0 certain.
const alpha = net.choiceSizes.map((n) => Float32Array.from({ length: n }, (_, j) => (v.pin && j > 0 ? -1e4 : 0)));
log(
  `proxyless-sharing: ${copies} cop${copies === 1 ? 'y' : 'ies'} of MBConv k3 e6 per layer${v.pin ? ', pinned to copy 0' : ''}${v.tie ? ', equal at start' : ''}, ` +
    `${steps} steps, lr ${lr0} (cosine), batch ${cfg.batchSize}, on ${describeBackend(backend)}`,
);
const windows: Array<{ step: number; loss: number; acc: number }> = [];
let [loss, acc, n] = [0, 0, 0];
for (let k = 0; k < steps; k++) {
  const r = await weightStep(parts, alpha, cosineLr(lr0, k, steps), k);
  [loss, acc, n] = [loss + r.loss, acc + r.acc, n + 1];
  if ((k + 1) % window === 0 || k + 1 === steps) {
    windows.push({ step: k + 1, loss: loss / n, acc: acc / n });
    log(`step ${String(k + 1).padStart(5)}  loss ${(loss / n).toFixed(3)}  acc ${((100 * acc) / n).toFixed(1)}%`);
    [loss, acc, n] = [0, 0, 0];
  }
}
const valAcc = await evaluateChoices(
  parts,
  shapes.map(() => 0),
  4,
);
log(`validation accuracy of the path through copy 0: ${(100 * valAcc).toFixed(1)}% (4 batches of ${cfg.valBatchSize})`);
// How far the copies' conv weights drifted apart: ||w1 - w0|| / ||w0|| per layer and node.
const drift: Record<string, number> = {};
if (copies === 2) {
  for (const [name, p] of params) {
    if (!/^b\d+\.c1\.n\d+\.\w+$/.test(name)) continue;
    const [a, b] = await backend.readMany([params.get(name.replace('.c1.', '.c0.'))!.value, p.value]);
    let [d, w] = [0, 0];
    a.forEach((x, i) => ((d += (x - b[i]) ** 2), (w += x * x)));
    drift[name.replace('.c1.', '.')] = Math.sqrt(d / w);
  }
  log(
    `copies' relative weight difference: ${Object.entries(drift)
      .map(([k, x]) => `${k} ${x.toFixed(3)}`)
      .join(', ')}`,
  );
}
const out = {
  copies,
  pin: v.pin,
  tie: v.tie,
  steps,
  lr: lr0,
  augment: v.augment,
  labelSmoothing: cfg.labelSmoothing,
  seed,
  windows,
  valAcc,
  drift,
};
log(`wrote ${writeResult(outFile, JSON.stringify(out, null, 1) + '\n')}`);
parts.sgd.dispose();
parts.adam.dispose();
net.dispose();
backend.dispose();
