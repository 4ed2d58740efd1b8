/**
 * ProxylessNAS at ImageNet resolution on an image folder (the tests write 4 classes x 3 JPEGs of
 * different sizes): the supernet sees the folder's images decoded at 224 (not 32x32 upscaled),
 * streamed a batch ahead, the result is finite and written; and a step's working memory is one
 * path's, whatever the number of candidate ops per block.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { run as proxylessCli } from '../../src/cli/commands/proxyless.js';
import { type SearchImages, streamedImages } from '../../src/data/batch-stream.js';
import { openImageFolder } from '../../src/data/image-folder.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { tableCost } from '../../src/mobilenet/cost/table.js';
import { IMAGENET_LAYOUT, type MobileNetLayout } from '../../src/mobilenet/layout.js';
import { WeightSgd } from '../../src/nn/optim.js';
import { Tape } from '../../src/nn/tape.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig, ProxylessSearch } from '../../src/proxyless/search.js';
import { ProxylessSupernet } from '../../src/proxyless/supernet.js';
import type { GateSample } from '../../src/kernels/binarize.js';
import { Rng } from '../../src/util/rng.js';
import { cpuTestBackend, methodBackend } from '../helpers/backend.js';
import { sameFloats, writeNoiseImageFolder } from '../helpers/datasets.js';

const TABLE = 'data/latency/proxylessnas_mobile_trim.yaml';
const S = 224;
const PER = 3 * S * S;
/** The ImageNet layout with the folder's 4 classes. */
const LAYOUT: MobileNetLayout = { ...IMAGENET_LAYOUT, classes: 4 };

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-proxyless-imagenet-'));
let folder: string;
let backend: Backend | null;
beforeAll(async () => {
  backend = await methodBackend();
  folder = await writeNoiseImageFolder(join(tmp, 'images'), 4, 3);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Upload = { shape: readonly number[] | undefined; data: Float32Array };

/** The backend with every upload's shape and data recorded while `log.on` (not the weights' initial values). */
function recording(b: Backend, log: { on: boolean; uploads: Upload[] }): Backend {
  return new Proxy(b, {
    get(target, key) {
      if (key === 'upload')
        return (data: Float32Array, shape?: readonly number[]) => {
          if (log.on) log.uploads.push({ shape, data: Float32Array.from(data) });
          return target.upload(data, shape);
        };
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('ProxylessNAS on an image folder at 224', () => {
  it('every step sees [2, 3, 224, 224] batches of the folder decoded at 224; α, cost and accuracy are finite', async ({
    skip,
  }) => {
    if (!backend) return skip();
    const ds = await openImageFolder(folder, 'train', { size: S });
    const data: SearchImages = { train: streamedImages(ds, 0, 8, S), val: streamedImages(ds, 8, 12, S) };
    const decoded = await ds.images([...Array(12).keys()], S);
    const imageOf = (i: number) => decoded.subarray(i * PER, (i + 1) * PER);
    const cost = tableCost(readLatencyTable(TABLE), IMAGENET_LAYOUT).cost!;
    const cfg: ProxylessSearchConfig = {
      ...DEFAULT_SEARCH,
      layout: LAYOUT,
      paths: 1,
      costLoss: { kind: 'hinge', target: 80, lambda: 2 },
      warmupSteps: 1,
      searchSteps: 2,
      archEvery: 1,
      batchSize: 2,
      valBatchSize: 2,
      arch: { ...DEFAULT_SEARCH.arch, lr: 0.1 },
      // Without augmentation the uploads are the decoded images themselves.
      augment: false,
      logEvery: 1000,
      checkpointEvery: 0,
    };
    const log = { on: false, uploads: [] as Upload[] };
    const search = new ProxylessSearch(recording(backend, log), cfg, data, cost);
    try {
      log.on = true;
      const r = await search.run();
      const acc = await search.evaluate(r.choices, 1);
      const images = log.uploads.filter((u) => u.shape?.length === 4);
      // Warm-up weight step, then (weight step, α step) twice, then 1 evaluation batch: weight steps
      // read the train split (images 0-7), α steps and the evaluation the validation split (8-11).
      expect(images.length).toBe(6);
      images.forEach((u, k) => {
        expect(u.shape).toEqual([2, 3, S, S]);
        const split = [0, 1, 3].includes(k) ? [0, 8] : [8, 12];
        // Each uploaded image is one of its split's images exactly as decoded at 224 (no resize).
        for (let j = 0; j < 2; j++) {
          const img = u.data.subarray(j * PER, (j + 1) * PER);
          const from = [...Array(split[1] - split[0]).keys()].map((i) => i + split[0]);
          expect(from.some((i) => sameFloats(img, imageOf(i)))).toBe(true);
        }
      });
      expect(r.weightSteps).toBe(3);
      expect(r.archSteps).toBe(2);
      expect(r.choices).toHaveLength(21);
      r.alpha.flat().forEach((v) => expect(Number.isFinite(v)).toBe(true));
      expect(Number.isFinite(r.cost!)).toBe(true);
      expect(r.cost!).toBeGreaterThan(cost.fixed);
      r.history.forEach((e) => expect(Number.isFinite(e.trainLoss)).toBe(true));
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
    } finally {
      search.dispose();
    }
  });

  it('wgnas proxyless --layout imagenet --dataset folder: says 224, writes a 224 net.config', async ({ skip }) => {
    if (!backend) return skip();
    const out = join(tmp, 'net.json');
    const errs: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (errs.push(String(c)), true));
    const std = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await proxylessCli([
        '--layout',
        'imagenet',
        '--dataset',
        `folder:${folder}`,
        '--latency-table',
        TABLE,
        '--target-ms',
        '80',
        '--train',
        '8',
        '--val',
        '4',
        '--batch',
        '2',
        '--val-batch',
        '2',
        '--warmup',
        '1',
        '--steps',
        '1',
        '--device',
        'cpu',
        '--out',
        out,
      ]);
    } finally {
      err.mockRestore();
      std.mockRestore();
    }
    const log = errs.join('');
    expect(log).toContain(`images: folder:${folder} decoded at 224x224 a batch ahead of each step`);
    expect(log).not.toMatch(/upscaled/);
    const net = JSON.parse(readFileSync(out, 'utf8'));
    expect(net.resolution).toBe(224);
    expect(net.classifier.out_features).toBe(4);
  });
});

describe('memory at 224: a ProxylessNAS step holds one path', () => {
  it('batch 2 on the CPU backend: the 6-7-candidate supernet step peaks like the 1-candidate network', async ({ skip }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    const n = 2;
    const choices = [0, 4, 2, 5, 1, 3, 0, 2, 4, 5, 1, 0, 3, 2, 5, 4, 1, 0, 2, 3, 5];
    const xData = new Rng(9).normals(n * PER);
    const labels = Float32Array.from([1, 3]);
    const gates: GateSample[] = choices.map((a) => ({ active: a, inactive: [], involved: [a] }));

    /** Peak bytes above the resting state of a weight step plus the gate gradients (second step: buffers warm). */
    const stepBytes = async (net: ProxylessSupernet): Promise<number> => {
      const sgd = new WeightSgd(cpu, net.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
      let peak = 0;
      for (let k = 0; k < 2; k++) {
        await cpu.sync();
        const base = cpu.stats().bytesInUse;
        cpu.resetPeak();
        const t = new Tape(cpu);
        const x = cpu.upload(xData, [n, 3, S, S]);
        const y = cpu.upload(labels);
        try {
          const { logits, records } = net.forward(t, t.input(x), gates);
          t.backward(t.crossEntropy(logits, y));
          await net.gateGradients(records);
          sgd.step(0.01);
          net.zeroGrad();
        } finally {
          t.dispose();
          x.dispose();
          y.dispose();
        }
        await cpu.sync();
        peak = cpu.stats().peakBytesInUse - base;
      }
      sgd.dispose();
      return peak;
    };

    const alone = new ProxylessSupernet(cpu, LAYOUT, new Rng(1), { only: choices });
    const aloneParams = alone.store.count();
    const aloneBytes = await stepBytes(alone);
    alone.dispose();
    const sup = new ProxylessSupernet(cpu, LAYOUT, new Rng(1));
    const superParams = sup.store.count();
    expect(Math.min(...sup.choiceSizes)).toBe(6);
    const superBytes = await stepBytes(sup);
    sup.dispose();
    // ~6x the parameters, the same working memory (activations of the one sampled path at 224).
    expect(superParams).toBeGreaterThan(4 * aloneParams);
    expect(superBytes).toBeLessThanOrEqual(aloneBytes * 1.02 + 64 * 1024);
    expect(superBytes).toBeGreaterThanOrEqual(aloneBytes * 0.98);
    // A 224 step's activations are tens of MB: the measure is not empty.
    expect(aloneBytes).toBeGreaterThan(n * PER * 4 * 10);
  });
});
