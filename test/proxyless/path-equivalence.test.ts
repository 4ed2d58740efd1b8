/**
 * The supernet's weight step is the stand-alone network's step of the sampled path: same forward,
 * same gradient, same SGD update (momentum and weight decay per candidate), nothing else moves.
 * Checked on a supernet with two IDENTICAL cells per layer (separate weights) against the
 * one-cell-per-layer network: with the path pinned through the warm-up and search loops, and with
 * random sampling, where before each step the stand-alone network takes the sampled candidates'
 * weights and momentum. So a supernet that learns slower than its paths does so by weight sharing
 * (each candidate trains on the steps that sample it, in networks whose other layers change), not
 * by a step that moves other weights than it ran.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { batchSource } from '../../src/data/batch-stream.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { type Cell, referenceCell } from '../../src/mobilenet/cell.js';
import { layerShapes } from '../../src/mobilenet/layout.js';
import { handDesignedSpace } from '../../src/mobilenet/space-file.js';
import type { CellSpace } from '../../src/mobilenet/space.js';
import { AlphaAdam, WeightSgd } from '../../src/nn/optim.js';
import type { Param } from '../../src/nn/tape.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig, ProxylessSearch } from '../../src/proxyless/search.js';
import { type SearchParts, weightStep } from '../../src/proxyless/search-steps.js';
import { ProxylessSupernet } from '../../src/proxyless/supernet.js';
import { Rng } from '../../src/util/rng.js';
import { mixSeed } from '../../src/util/seed.js';
import { methodBackend } from '../helpers/backend.js';
import { TOY_LAYOUT } from '../helpers/cases.js';

const LAYOUT = TOY_LAYOUT;
const shapes = layerShapes(LAYOUT);
const ref = shapes.map((sh) => referenceCell(sh));
const data = () => cifarSearchSplit(96, 32);

/** A space literal (loadSpace refuses a layer that lists a cell twice; the library takes any cells). */
function space(cells: Cell[][]): CellSpace {
  return { file: handDesignedSpace(LAYOUT), layout: LAYOUT, shapes, cells };
}

function config(cells: Cell[][], over: Partial<ProxylessSearchConfig> = {}): ProxylessSearchConfig {
  return {
    ...DEFAULT_SEARCH,
    layout: LAYOUT,
    space: space(cells),
    costLoss: null,
    paths: 1,
    batchSize: 8,
    valBatchSize: 8,
    augment: true,
    labelSmoothing: 0.1,
    logEvery: 1,
    checkpointEvery: 0,
    seed: 3,
    ...over,
  };
}

async function values(b: Backend, t: Tensor): Promise<Float32Array> {
  return Float32Array.from((await b.readMany([t]))[0]);
}

/** Largest |a - b| relative to max |b| (1 when b is all zeros and a is not). */
function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  a.forEach((v, i) => {
    d = Math.max(d, Math.abs(v - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  });
  return m > 0 ? d / m : d;
}

/** A stand-alone parameter's name as the supernet's candidate `choice[b]` of its block calls it. */
const inSupernet = (name: string, choice: readonly number[]) =>
  name.replace(/^b(\d+)\.c0\./, (_, b: string) => `b${b}.c${choice[Number(b)]}.`);

// f32 on the same kernels and shapes: observed bit-identical on the CPU backend; the bound leaves
// room for a backend that orders a reduction differently.
const TOL = 1e-5;

describe('the supernet weight step is the stand-alone step of the sampled path', () => {
  it('pinned path (α forced to candidate 0, two identical cells per layer): warm-up and search train exactly as the stand-alone network', async ({
    skip,
  }) => {
    const b = await methodBackend();
    if (!b) return skip();
    const steps = { warmupSteps: 4, searchSteps: 4, archEvery: 2 };
    const sup = new ProxylessSearch(
      b,
      config(
        ref.map((c) => [c, c]),
        steps,
      ),
      data(),
      null,
    );
    const one = new ProxylessSearch(
      b,
      config(
        ref.map((c) => [c]),
        steps,
      ),
      data(),
      null,
    );
    try {
      // The same initial weights: the stand-alone network takes the supernet's candidate 0 (and skeleton).
      const sm = sup.net.paramMap();
      for (const [name, p] of one.net.paramMap()) b.copy(sm.get(name)!.value, p.value);
      const other = [...sm].filter(([n]) => /^b\d+\.c1\./.test(n)).map(([, p]) => p);
      expect(other.length).toBeGreaterThan(0);
      const before = await Promise.all(other.map((p) => values(b, p.value)));
      sup.alpha = sup.alpha.map(() => Float32Array.from([0, -1e4]));
      const rs = await sup.run();
      const ro = await one.run();
      expect(rs.choices).toEqual(ref.map(() => 0));
      const ls = rs.history.map((e) => e.trainLoss);
      const lo = ro.history.map((e) => e.trainLoss);
      expect(ls.length).toBe(8);
      expect(lo.length).toBe(8);
      ls.forEach((l, i) => expect(Math.abs(l - lo[i]), `step ${i + 1}: ${l} vs ${lo[i]}`).toBeLessThanOrEqual(TOL * lo[i]));
      // Training happened (the weights moved and the loss is not constant), and identically.
      expect(new Set(ls).size).toBeGreaterThan(1);
      for (const [name, p] of one.net.paramMap())
        expect(relDiff(await values(b, sm.get(name)!.value), await values(b, p.value)), name).toBeLessThanOrEqual(TOL);
      // The candidate never sampled kept its initial weights and got no momentum.
      for (const [k, p] of other.entries()) {
        expect(await values(b, p.value), p.name).toEqual(before[k]);
        expect(sup['sgd'].buffers.has(p), p.name).toBe(false);
      }
    } finally {
      sup.dispose();
      one.dispose();
    }
  });

  it('random path (uniform α, two identical cells per layer, equal at init): each step equals the stand-alone step from the sampled candidates’ weights and momentum', async ({
    skip,
  }) => {
    const b = await methodBackend();
    if (!b) return skip();
    const parts = (cells: Cell[][], seed: number): SearchParts => {
      const cfg = config(cells);
      const net = new ProxylessSupernet(b, LAYOUT, new Rng(seed), { cells, bnEps: cfg.bnEps });
      const d = data();
      return {
        backend: b,
        cfg,
        net,
        cost: null,
        sgd: new WeightSgd(b, net.params, { momentum: cfg.momentum, nesterov: cfg.nesterov, weightDecay: cfg.weightDecay }),
        adam: new AlphaAdam(b, net.choiceSizes, cfg.arch),
        trainStream: batchSource(d.train, cfg.batchSize, mixSeed(cfg.seed, 1)),
        valStream: batchSource(d.val, cfg.valBatchSize, mixSeed(cfg.seed, 2)),
      };
    };
    const S = parts(
      ref.map((c) => [c, c]),
      7,
    );
    const R = parts(
      ref.map((c) => [c]),
      8,
    );
    try {
      const sm = S.net.paramMap();
      const rm = R.net.paramMap();
      // Both candidates start from the same weights.
      for (const [name, p] of sm) if (/^b\d+\.c1\./.test(name)) b.copy(sm.get(name.replace('.c1.', '.c0.'))!.value, p.value);
      const alpha = S.net.choiceSizes.map((n) => new Float32Array(n));
      const alphaOne = R.net.choiceSizes.map((n) => new Float32Array(n));
      const seen = new Set<string>();
      const lossesS: number[] = [];
      for (let k = 0; k < 8; k++) {
        const lr = 0.05;
        // Every supernet tensor before the step (the path is drawn inside the step).
        const snap = new Map<Param, { w: Float32Array; m: Float32Array | null }>();
        for (const p of sm.values()) {
          const m = S.sgd.buffers.get(p);
          snap.set(p, { w: await values(b, p.value), m: m ? await values(b, m) : null });
        }
        const rs = await weightStep(S, alpha, lr, k);
        seen.add(rs.choices.join(''));
        // The stand-alone network from the sampled candidates' weights and momentum (zeros before their first step).
        for (const [name, q] of rm) {
          const src = snap.get(sm.get(inSupernet(name, rs.choices))!)!;
          b.write(q.value, src.w);
          let buf = R.sgd.buffers.get(q);
          if (!buf) R.sgd.buffers.set(q, (buf = b.zeros(q.value.shape)));
          b.write(buf, src.m ?? new Float32Array(q.value.size));
        }
        const ro = await weightStep(R, alphaOne, lr, k);
        expect(ro.choices).toEqual(ref.map(() => 0));
        expect(Math.abs(rs.loss - ro.loss), `step ${k + 1}`).toBeLessThanOrEqual(TOL * ro.loss);
        lossesS.push(rs.loss);
        // The sampled candidates moved as the stand-alone network did; the others did not move at all.
        for (const [name, q] of rm) {
          const p = sm.get(inSupernet(name, rs.choices))!;
          expect(relDiff(await values(b, p.value), await values(b, q.value)), `step ${k + 1} ${p.name}`).toBeLessThanOrEqual(TOL);
          expect(relDiff(await values(b, S.sgd.buffers.get(p)!), await values(b, R.sgd.buffers.get(q)!))).toBeLessThanOrEqual(
            TOL,
          );
        }
        const used = new Set([...rm.keys()].map((n) => inSupernet(n, rs.choices)));
        for (const [name, p] of sm)
          if (!used.has(name)) expect(await values(b, p.value), `step ${k + 1} ${name} (not sampled)`).toEqual(snap.get(p)!.w);
      }
      // The steps sampled more than one path (else this is the pinned case again).
      expect(seen.size).toBeGreaterThan(1);
      expect(new Set(lossesS).size).toBeGreaterThan(1);
    } finally {
      for (const p of [S, R]) {
        p.sgd.dispose();
        p.adam.dispose();
        p.net.dispose();
      }
    }
  });
});
