/**
 * Resource growth of a long run: drives the product's own loops and samples, every EVERY cells or
 * steps, what a per-cell leak would grow: RSS, JS heap, open fds, active handles, the device pool's
 * live / free buffers and bytes (and its peak in use), the GPU's pipeline cache and uniform blocks,
 * the native device's live tensors and cached oneDNN primitives, and the tensors dropped without
 * dispose() (Backend.memory().leakedTensors: the safety net reclaims them, so only this count shows them). A run that leaks dies hours in;
 * here a count that keeps rising after the first few samples shows it in minutes.
 *
 *   score:     ZeroShotScorer + scoreAll, as `wgnas score` runs it, over cells spread over the space
 *   proxyless: ProxylessSearch on the CIFAR layout (made-up latencies: the loop is under test)
 *   evolve:    AutoSpace (evolve-space) on the CIFAR layout
 *
 * Usage: npx tsx --expose-gc scripts/resource-growth.ts [--method score|proxyless|evolve]
 *   [--device cpu|gpu] [--count N] [--every K] [--batch B] [--group G] [--proxies LIST] [--threads T]
 * --expose-gc lets each sample collect first (the heap then shows what is held, not what is garbage).
 * BUCKETS=1 (GPU) prints at the end the pool's free buffers above 64 KiB by size.
 */
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AutoSpace, DEFAULT_EVOLVE } from '../src/autospace/evolve.js';
import { type Backend, openBackend } from '../src/backend/index.js';
import { gpuOf } from '../src/backend/webgpu.js';
import { cifarSearchSplit } from '../src/data/search-split.js';
import { CIFAR_LAYOUT } from '../src/mobilenet/layout.js';
import { fixedMadds } from '../src/mobilenet/madds.js';
import { NativeTensor } from '../src/native/device.js';
import { NB201_DEFAULT } from '../src/nn/nb201-net.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../src/proxyless/search.js';
import { cellFromIndex } from '../src/spaces/nb201.js';
import { scoreAll, ZeroShotScorer } from '../src/zeroshot/index.js';

const { values: v } = parseArgs({
  options: {
    method: { type: 'string', default: 'score' },
    device: { type: 'string', default: 'cpu' },
    count: { type: 'string', default: '120' },
    every: { type: 'string', default: '20' },
    batch: { type: 'string', default: '8' },
    group: { type: 'string', default: '1' },
    proxies: { type: 'string', default: 'wrcor' },
    threads: { type: 'string', default: '1' },
  },
});
const count = Number(v.count);
const every = Number(v.every);
const batch = Number(v.batch);
const MB = 2 ** 20;
const mb = (bytes: number) => +(bytes / MB).toFixed(2);

function sample(backend: Backend): Record<string, number> {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const out: Record<string, number> = {
    rssMB: mb(m.rss),
    heapMB: mb(m.heapUsed),
    fds: readdirSync('/proc/self/fd').length,
    handles: (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length,
    // Tensors dropped without dispose() (reclaimed by the safety net, so not in the live counts).
    leaked: backend.memory().leakedTensors,
  };
  const gpu = gpuOf(backend);
  if (gpu) {
    const p = gpu.pool.stats();
    // Private counts, read for this diagnosis only.
    const g = gpu as unknown as { pipelinesByCall: Map<string, unknown>; freeUniforms: unknown[] };
    return {
      ...out,
      bufIn: p.buffersInUse,
      bufFree: p.buffersFree,
      allocMB: mb(p.bytesAllocated),
      peakMB: mb(p.peakBytesInUse),
      pipelines: gpu.pipelineCount,
      aliases: g.pipelinesByCall.size,
      uniformBlocks: g.freeUniforms.length,
    };
  }
  const probe = backend.empty([1]);
  probe.dispose();
  if (!(probe instanceof NativeTensor)) return out;
  const s = probe.device.stats();
  return {
    ...out,
    tensors: s.tensors,
    bufIn: s.buffersInUse,
    bufFree: s.buffersFree,
    allocMB: mb(s.bytesAllocated),
    peakMB: mb(s.peakBytesInUse),
    prims: s.cachedPrimitives,
  };
}

function printBuckets(backend: Backend): void {
  const gpu = gpuOf(backend);
  if (!process.env.BUCKETS || !gpu) return;
  const free = (gpu.pool as unknown as { free: Map<number, unknown[]> }).free;
  const big = [...free].filter(([size]) => size > 64 * 1024).sort((a, b) => a[0] - b[0]);
  const bytes = big.reduce((a, [size, l]) => a + size * l.length, 0);
  console.error(`free buffers above 64 KiB: ${big.length} sizes, ${mb(bytes)} MB`);
  console.error(big.map(([size, l]) => `${mb(size)}MBx${l.length}`).join(' '));
}

async function score(backend: Backend, record: (i: number) => void): Promise<void> {
  const scorer = new ZeroShotScorer(backend, v.proxies.split(','), {
    batchSize: batch,
    seed: 0,
    group: v.group === 'auto' ? 'auto' : Number(v.group),
    net: NB201_DEFAULT,
  });
  // Cells spread over the space (a stride coprime with 5^6), as --sample picks them.
  const cells = Array.from({ length: count }, (_, i) => cellFromIndex((i * 7919 + 11) % 15625));
  let next = 0;
  await scoreAll(scorer, cells, (done) => {
    if (done < next) return;
    record(done);
    next = done + every;
  });
}

async function proxyless(backend: Backend, record: (i: number) => void): Promise<void> {
  const warmup = Math.floor(count / 4);
  const cfg = {
    ...DEFAULT_SEARCH,
    layout: CIFAR_LAYOUT,
    warmupSteps: warmup,
    searchSteps: count - warmup,
    batchSize: batch,
    valBatchSize: batch,
    logEvery: every,
    checkpointEvery: 0,
    costLoss: { kind: 'add' as const, target: 5, lambda: 0.1 },
  };
  const data = cifarSearchSplit(256, 128);
  const sizes = new ProxylessSearch(backend, { ...cfg, costLoss: null }, data, null);
  const perPosition = sizes.net.choiceSizes.map((n, b) => Array.from({ length: n }, (_, i) => 0.1 + ((b + i) % 5) * 0.05));
  sizes.dispose();
  const s = new ProxylessSearch(backend, cfg, data, { unit: 'ms', source: 'table', fixed: 2, perPosition });
  try {
    await s.run((e) => record(e.phase === 'warmup' ? e.step : warmup + e.step));
  } finally {
    s.dispose();
  }
}

async function evolve(backend: Backend, record: (i: number) => void): Promise<void> {
  const layout = CIFAR_LAYOUT;
  const cfg = { ...DEFAULT_EVOLVE, layout, budgetMadds: 2 * fixedMadds(layout), iterations: count, steps: 2 };
  const evo = new AutoSpace(
    backend,
    { ...cfg, warmupSteps: 2, replaceEvery: 1, batchSize: batch, seed: 3 },
    cifarSearchSplit(256, 128),
  );
  try {
    await evo.run((e) => {
      if (e.iteration % every === 0 || e.iteration === 1) record(e.iteration);
    });
  } finally {
    evo.dispose();
  }
}

const METHODS = { score, proxyless, evolve };
const run = METHODS[v.method as keyof typeof METHODS];
if (!run) throw new Error(`--method: one of ${Object.keys(METHODS).join(', ')}`);
const backend = await openBackend(v.device as 'cpu' | 'gpu', { threads: Number(v.threads) });
const rows: Record<string, number>[] = [];
const t0 = Date.now();
const record = (i: number) => {
  rows.push({ at: i, s: Math.round((Date.now() - t0) / 1000), ...sample(backend) });
  console.error(JSON.stringify(rows.at(-1)));
};
try {
  await run(backend, record);
  await backend.sync(); // a tensor disposed while work on it was queued is freed once that work ran
  record(count); // after the loop let go of everything it held
  console.table(rows);
  printBuckets(backend);
} finally {
  backend.dispose();
}
