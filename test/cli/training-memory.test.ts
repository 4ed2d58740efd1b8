/**
 * The training commands' memory check on the CPU backend (src/cli/training-memory.ts): the probe's
 * estimate of the buffer pool (one step at batches 1 and 2 on devices of its own, extrapolated)
 * against the pool a real short run held, on tiny networks at three batches, each run on a fresh
 * device so that its pool is the run's own; and each command refused in one line, before any work,
 * on a machine faked small (WGNAS_TEST_MEMORY_BYTES), warned above what is available.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AutoSpace } from '../../src/autospace/evolve.js';
import { evolvePoolBytes, probeEvolveMemory } from '../../src/autospace/memory-probe.js';
import { type Backend, cpuBackend } from '../../src/backend/index.js';
import { TRAINING_POOL_SLACK } from '../../src/cli/training-memory.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { type ExportNetwork, nb201Network } from '../../src/export/index.js';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { NativeDevice } from '../../src/native/device.js';
import { probeProxylessMemory, proxylessPoolBytes } from '../../src/proxyless/memory-probe.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig, ProxylessSearch } from '../../src/proxyless/search.js';
import { buildNetwork, Trainer, TRAIN_DEFAULTS, withClasses } from '../../src/train/index.js';
import { probeTrainMemory, trainPoolBytes } from '../../src/train/memory-probe.js';
import { Rng } from '../../src/util/rng.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { tinyEvolveConfig } from '../helpers/cases.js';
import { refusalProblems, wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';
import { TABLE } from '../helpers/flags.js';
import { memoryDataset } from '../helpers/train-parity.js';

const MiB = 2 ** 20;
const ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';
const fresh = async (): Promise<Backend> => cpuBackend(NativeDevice.create({ threads: 2 }));

afterEach(() => void delete process.env.WGNAS_TEST_MEMORY_BYTES);

/**
 * The estimate against what a run held: the pool's bytes from the system at its end (the CPU pool
 * returns none while it runs), with the check's slack.
 */
interface Measured {
  batch: number;
  estimateMiB: number;
  heldMiB: number;
}

/**
 * The estimate (with the check's slack) against what the run held: at most this much more. Measured up
 * to 1.36x (evolve-space at batch 16) and the probe's figures move by up to ~25 % between runs: an
 * over-estimate only refuses early, so the bound leaves room for that noise.
 */
const MAX_OVER = 1.6;
/** Measured 1.01-1.36x; a little under 1 is allowed: which freed buffer a tensor reuses varies from run to run. */
const MAX_UNDER = 0.9;

function expectClose(ms: Measured[]): void {
  console.log(
    ms.map((m) => `batch ${m.batch}: estimate ${m.estimateMiB.toFixed(1)} MiB, held ${m.heldMiB.toFixed(1)} MiB`).join('; '),
  );
  for (const m of ms) {
    expect(m.estimateMiB, `batch ${m.batch}`).toBeGreaterThanOrEqual(MAX_UNDER * m.heldMiB);
    expect(m.estimateMiB, `batch ${m.batch}`).toBeLessThanOrEqual(MAX_OVER * m.heldMiB);
  }
}

function split(kind: 'train' | 'test', count: number, size: number) {
  const rng = new Rng(kind === 'train' ? 1 : 2);
  const images = Float32Array.from({ length: count * 3 * size * size }, () => rng.next() - 0.5);
  return memoryDataset(
    kind,
    images,
    Array.from({ length: count }, (_, i) => i % 4),
    4,
    size,
  );
}

async function trainMeasured(net: ExportNetwork, batch: number): Promise<Measured> {
  const size = 32;
  const data = { train: split('train', 2 * batch, size), test: split('test', 24, size), size };
  const s = { ...TRAIN_DEFAULTS, epochs: 1, batchSize: batch, warmupEpochs: 0 };
  const estimate = TRAINING_POOL_SLACK * trainPoolBytes(await probeTrainMemory(fresh, net, data, s), data, s);
  const backend = await fresh();
  try {
    const model = buildNetwork(backend, net, s.seed);
    const trainer = new Trainer(backend, model, data, s);
    await trainer.run();
    await backend.sync();
    trainer.dispose();
    model.dispose();
    return { batch, estimateMiB: estimate / MiB, heldMiB: backend.stats().bytesAllocated / MiB };
  } finally {
    backend.dispose();
  }
}

async function proxylessMeasured(over: Partial<ProxylessSearchConfig>): Promise<Measured> {
  const cfg: ProxylessSearchConfig = {
    ...DEFAULT_SEARCH,
    layout: { ...CIFAR_LAYOUT, classes: 10 },
    costLoss: null,
    warmupSteps: 1,
    searchSteps: 6,
    archEvery: 1,
    archWarmupSteps: 0,
    logEvery: 1000,
    checkpointEvery: 0,
    checkpointDir: null,
    batchSize: 8,
    valBatchSize: 8,
    ...over,
  };
  const estimate = TRAINING_POOL_SLACK * proxylessPoolBytes(await probeProxylessMemory(fresh, cfg), cfg);
  const backend = await fresh();
  try {
    const search = new ProxylessSearch(backend, cfg, cifarSearchSplit(64, 32), null);
    await search.run();
    await backend.sync();
    search.dispose();
    return { batch: cfg.batchSize, estimateMiB: estimate / MiB, heldMiB: backend.stats().bytesAllocated / MiB };
  } finally {
    backend.dispose();
  }
}

async function evolveMeasured(batch: number): Promise<Measured> {
  const cfg = tinyEvolveConfig(CIFAR_LAYOUT, {
    budgetMadds: 6e6,
    populationSize: 4,
    k: 2,
    iterations: 3,
    steps: 2,
    batchSize: batch,
  });
  const data = cifarSearchSplit(64, 32);
  const estimate = TRAINING_POOL_SLACK * evolvePoolBytes(await probeEvolveMemory(fresh, cfg, data), cfg);
  const backend = await fresh();
  try {
    const evo = new AutoSpace(backend, cfg, data);
    await evo.run();
    await backend.sync();
    evo.dispose();
    return { batch, estimateMiB: estimate / MiB, heldMiB: backend.stats().bytesAllocated / MiB };
  } finally {
    backend.dispose();
  }
}

describe.skipIf(cpuTestBackend() === null)('the training memory estimate against a real run (CPU backend)', () => {
  it('train: an NB201 network at batches 8, 32 and 64 (with evaluation at 24)', { timeout: 120_000 }, async () => {
    const net = withClasses(nb201Network(ARCH, { channels: 8, cellsPerStage: 1 }), 4);
    const ms: Measured[] = [];
    for (const batch of [8, 32, 64]) ms.push(await trainMeasured(net, batch));
    expectClose(ms);
  });

  it('proxyless: the CIFAR supernet at batches 4, 8 and 16, two paths', { timeout: 300_000 }, async () => {
    const ms: Measured[] = [];
    for (const batch of [4, 8, 16]) ms.push(await proxylessMeasured({ batchSize: batch, valBatchSize: batch }));
    ms.push(await proxylessMeasured({ batchSize: 8, valBatchSize: 16 }));
    expectClose(ms);
  });

  it('evolve-space: the CIFAR layout, population 4, K 2, at batches 4, 8 and 16', { timeout: 300_000 }, async () => {
    const ms: Measured[] = [];
    for (const batch of [4, 8, 16]) ms.push(await evolveMeasured(batch));
    expectClose(ms);
  });
});

describe.skipIf(cpuTestBackend() === null)('a training run too big for the machine (faked small)', () => {
  const CPU = ['--device', 'cpu', '--cpu-threads', '2'];
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wgnas-trainmem-'));
    await writeImageFolder(join(dir, 'colours', 'train'), [6, 6], { size: 32 });
    await writeImageFolder(join(dir, 'colours', 'test'), [3, 3], { size: 32 });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** Nothing written: the output absent, the checkpoint directory absent or empty (its lock taken and released). */
  const untouched = (out: string, ck: string) => {
    expect(existsSync(out)).toBe(false);
    if (existsSync(ck)) expect(readdirSync(ck)).toEqual([]);
  };
  const small = () => (process.env.WGNAS_TEST_MEMORY_BYTES = `${16 * MiB},${32 * MiB}`);

  const trainArgs = (out: string) => [
    ...['train', '--nb201', ARCH, '--channels', '4', '--cells-per-stage', '1', '--dataset', `folder:${join(dir, 'colours')}`],
    ...['--epochs', '1', '--batch', '6', '--latency-runs', '0', '--quiet', '--out', out, ...CPU],
  ];

  it(
    'train: refused in one line before any work; above what is available: a warning, and it trains',
    { timeout: 120_000 },
    async () => {
      const out = join(dir, 'train');
      small();
      const r = await wgnasInProcess(trainArgs(out));
      expect(
        refusalProblems(
          r,
          2,
          // Which advice comes first follows the larger of two probed figures (the step at --batch 6, the
          // evaluation forward at 100 images), near each other here: either may lead.
          /^wgnas train: training: up to about [\d.]+ [MG]iB at --batch 6 on 32x32 images, more than this machine's 32 MiB: give (a smaller --batch|fewer --test-images \(evaluated \d+ at a time\) or a smaller --batch)$/m,
        ),
      ).toEqual([]);
      untouched(out, join(out, 'checkpoint'));
      process.env.WGNAS_TEST_MEMORY_BYTES = `${16 * MiB},${64 * 1024 * MiB}`;
      const warned = await wgnasInProcess(trainArgs(out));
      expect(warned.code, warned.err).toBe(0);
      expect(warned.err).toMatch(
        /^warning: training: up to about [\d.]+ [MG]iB at --batch 6 on 32x32 images, more than the 16 MiB available now \(of 64\.0 GiB\): it may swap$/m,
      );
      expect(existsSync(join(out, 'weights.json'))).toBe(true);
    },
  );

  it('proxyless: refused in one line before any work', { timeout: 120_000 }, async () => {
    const [out, ck] = [join(dir, 'net.config'), join(dir, 'ck-proxyless')];
    small();
    const r = await wgnasInProcess([
      ...['proxyless', '--latency-table', TABLE, '--target-ms', '40', '--warmup', '1', '--steps', '2'],
      ...['--batch', '4', '--val-batch', '8', '--train', '16', '--val', '16', '--checkpoint', ck, '--out', out, ...CPU],
    ]);
    expect(
      refusalProblems(
        r,
        2,
        /^wgnas proxyless: search: up to about [\d.]+ [MG]iB at --batch 4 and --val-batch 8 on 32x32 images, more than this machine's 32 MiB: give a smaller --batch or --val-batch$/m,
      ),
    ).toEqual([]);
    untouched(out, ck);
  });

  it('evolve-space: refused in one line before any work', { timeout: 120_000 }, async () => {
    const [out, ck] = [join(dir, 'space.json'), join(dir, 'ck-evolve')];
    small();
    const r = await wgnasInProcess([
      ...['evolve-space', '--budget-madds', '6M', '--population', '4', '--k', '2', '--iterations', '1', '--steps', '1'],
      ...['--warmup', '1', '--batch', '4', '--train', '16', '--val', '16', '--checkpoint', ck, '--out', out, ...CPU],
    ]);
    expect(
      refusalProblems(
        r,
        2,
        /^wgnas evolve-space: evolution: up to about [\d.]+ [MG]iB at --batch 4, --population 4 and --k 2 on 32x32 images, more than this machine's 32 MiB: give a smaller --batch, --population or --k$/m,
      ),
    ).toEqual([]);
    untouched(out, ck);
  });
});
