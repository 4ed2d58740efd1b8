/**
 * The ProxylessNAS architecture-gradient estimators against exact references on tiny cases:
 *  - gate gradients: with a loss linear in the gates, L(g) = Σ_j g_j c_j, the gradient of the
 *    expected loss under p = softmax(α) is known in closed form, ∂E_p[L]/∂α_i = p_i (c_i − Σ_j p_j c_j);
 *    every estimator is averaged exactly over all its gate samples (enumerated, not drawn);
 *  - the cost loss: its α gradient against central differences of the loss of α;
 *  - REINFORCE: the expected update on a 2-arm toy with known rewards is −∇_α E[R] whatever the baseline.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { type GateSample, sampleGates } from '../../src/kernels/binarize.js';
import { type CostModel, expectedCost } from '../../src/mobilenet/cost/model.js';
import { archGradients, policyGradient, reinforceUpdate } from '../../src/proxyless/arch-grad.js';
import { combineLoss, type CostLossConfig } from '../../src/proxyless/objective.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig, ProxylessSearch } from '../../src/proxyless/search.js';
import { type SearchParts, reinforceArchStep } from '../../src/proxyless/search-steps.js';
import { Rng } from '../../src/util/rng.js';
import { mixSeed } from '../../src/util/seed.js';
import { softmax } from '../../src/util/softmax.js';
import { methodBackend } from '../helpers/backend.js';
import { TOY_COST, TOY_LAYOUT } from '../helpers/cases.js';
import { forEachNudge } from '../helpers/layers.js';

let backend: Backend | null;
beforeAll(async () => {
  backend = await methodBackend();
});

const ALPHA = [0.7, -0.4, 0.2];
const C = [1.3, -0.5, 0.4]; // dL/dg_j of the linear loss
const P = softmax(ALPHA);
const trueGrad = (): number[] => {
  const mean = P.reduce((s, p, j) => s + p * C[j], 0);
  return P.map((p, i) => p * (C[i] - mean));
};

/** Gate gradients as the supernet reports them: only the evaluated candidates' entries are non-zero. */
const measured = (evaluated: readonly number[]): number[] => C.map((c, j) => (evaluated.includes(j) ? c : 0));

const oneBlock = (over: Partial<ProxylessSearchConfig>) => ({
  paths: 1 as const,
  gateGrads: 'sampled' as const,
  costLoss: null,
  ...over,
});

describe('gate-gradient estimators vs the exact gradient of E_p[L] (loss linear in the gates, 3 candidates)', () => {
  it("1 path, gate grads 'all' (the paper's full mode): every sample gives the exact gradient", () => {
    for (let a = 0; a < 3; a++) {
      const g: GateSample = { active: a, inactive: [], involved: [a, ...[0, 1, 2].filter((j) => j !== a)] };
      const r = archGradients(oneBlock({ gateGrads: 'all' }), null, [ALPHA], [g], [measured([0, 1, 2])], 0);
      r.grads[0].forEach((v, i) => expect(v).toBeCloseTo(trueGrad()[i], 12));
    }
  });

  it("1 path, gate grads 'sampled' (only the active path's dL/dg known): unbiased over the active path a ~ p", () => {
    const expected = [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      const g: GateSample = { active: a, inactive: [], involved: [a, ...[0, 1, 2].filter((j) => j !== a)] };
      const r = archGradients(oneBlock({}), null, [ALPHA], [g], [measured([a])], 0);
      r.grads[0].forEach((v, i) => (expected[i] += P[a] * v));
    }
    expected.forEach((v, i) => expect(v).toBeCloseTo(trueGrad()[i], 12));
    // Adding a constant to every dL/dg (a loss offset) must not move α on average.
    const shifted = [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      const g: GateSample = { active: a, inactive: [], involved: [a, ...[0, 1, 2].filter((j) => j !== a)] };
      const dg = [0, 0, 0];
      dg[a] = 5;
      archGradients(oneBlock({}), null, [ALPHA], [g], [dg], 0).grads[0].forEach((v, i) => (shifted[i] += P[a] * v));
    }
    shifted.forEach((v) => expect(v).toBeCloseTo(0, 12));
  });

  it('2 paths: the exact average over every (pair, active) sample is Σ_j P({i,j}) q_i q_j (c_i − c_j), a descent direction', () => {
    // Enumerate: first ~ p, second ~ p without the first, active ~ softmax of the pair.
    const expected = [0, 0, 0];
    for (let f = 0; f < 3; f++) {
      for (let s = 0; s < 3; s++) {
        if (s === f) continue;
        const pPair = P[f] * (P[s] / (1 - P[f]));
        const q = softmax([ALPHA[f], ALPHA[s]]);
        [f, s].forEach((act, k) => {
          const other = k === 0 ? s : f;
          const g: GateSample = { active: act, inactive: [other], involved: [act, other] };
          const r = archGradients(oneBlock({ paths: 2 }), null, [ALPHA], [g], [measured([act, other])], 0);
          r.grads[0].forEach((v, i) => (expected[i] += pPair * q[k] * v));
        });
      }
    }
    const closed = [0, 1, 2].map((i) =>
      [0, 1, 2]
        .filter((j) => j !== i)
        .reduce((acc, j) => {
          const pij = P[i] * P[j] * (1 / (1 - P[i]) + 1 / (1 - P[j]));
          const qi = P[i] / (P[i] + P[j]);
          return acc + pij * qi * (1 - qi) * (C[i] - C[j]);
        }, 0),
    );
    expected.forEach((v, i) => expect(v).toBeCloseTo(closed[i], 12));
    // A small step against the expected gradient lowers E_p[L].
    const e = (a: number[]) => softmax(a).reduce((acc, p, j) => acc + p * C[j], 0);
    expect(e(ALPHA.map((a, i) => a - 1e-3 * expected[i]))).toBeLessThan(e(ALPHA));
    // The sampler draws exactly these (pair, active) outcomes: the Monte Carlo mean agrees.
    const rng = new Rng(7);
    const n = 40000;
    const mc = [0, 0, 0];
    for (let k = 0; k < n; k++) {
      const g = sampleGates(ALPHA, rng, 2);
      const r = archGradients(oneBlock({ paths: 2 }), null, [ALPHA], [g], [measured(g.involved)], 0);
      r.grads[0].forEach((v, i) => (mc[i] += v / n));
    }
    mc.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(5e-3));
  });
});

/** E over the sampled pairs: base + Σ_b Σ_{i∈pair_b} q_i cost_i, q the pair's softmax of α. */
const pairCost = (cost: CostModel, gates: GateSample[], a: number[][], base: number) =>
  a.reduce((acc, row, b) => {
    const q = softmax(gates[b].involved.map((i) => row[i]));
    return acc + gates[b].involved.reduce((s, i, k) => s + q[k] * cost.perPosition[b][i], 0);
  }, base);

describe('the cost term of the α gradient vs finite differences of the loss', () => {
  const cost: CostModel = {
    unit: 'ms',
    source: 'table',
    fixed: 2,
    perPosition: [
      [3, 1.5, 0],
      [2, 5],
    ],
  };
  const alpha = [
    [0.3, -0.2, 0.5],
    [0.1, -0.6],
  ];
  const none = (a: number[][]) => a.map((row) => row.map(() => 0));
  const losses: CostLossConfig[] = [
    { kind: 'add', target: 5, lambda: 0.3 },
    { kind: 'mul', target: 5, beta: 0.6, mulScale: 0.2 },
    { kind: 'hinge', target: 5, lambda: 2 },
  ];
  for (const costLoss of losses) {
    it(`1 path, ${costLoss.kind}: dL/dα = ∂/∂α of loss(CE, E[cost](α))`, () => {
      const ce = 1.7;
      const gates = alpha.map((a) => ({ active: 0, inactive: [], involved: a.map((_, i) => i) }));
      const r = archGradients({ paths: 1, gateGrads: 'all', costLoss }, cost, alpha, gates, none(alpha), ce);
      const f = (a: number[][]) => combineLoss(costLoss, ce, expectedCost(cost, a).value).loss;
      expect(r.objective).toBeCloseTo(f(alpha), 12);
      const h = 1e-6;
      forEachNudge(alpha, h, (b, i, up, dn) => expect(r.grads[b][i]).toBeCloseTo((f(up) - f(dn)) / (2 * h), 6));
    });
  }

  // ProxylessNAS' 'two' mode (mix_op.py binarize: current_prob_over_ops is the pair's softmax, zero
  // elsewhere; super_proxyless.py expected_latency sums over it): the loss takes the expected cost
  // of the sampled pairs, E2 = fixed + Σ_b Σ_{i∈pair_b} q_i cost_i, in its value and its factors.
  for (const costLoss of losses) {
    it(`2 paths, ${costLoss.kind}: dL/dα = ∂/∂α of loss(CE(α), E over the sampled pairs(α)), pair entries only`, () => {
      const gates = [
        { active: 2, inactive: [0], involved: [2, 0] },
        { active: 1, inactive: [0], involved: [1, 0] },
      ];
      // Gate gradients of the pair (dCE/dg); the others are not evaluated.
      const dg = [
        [0.4, 0, -0.9],
        [0.25, -0.6],
      ];
      const ce0 = 1.7;
      // CE as a function of α near α0, linear in the pair's gates relaxed to their softmax: its α
      // gradient is the two-path formula Σ_j dg_j q_j (δ_ij − q_i).
      const q0 = alpha.map((row, b) => softmax(gates[b].involved.map((i) => row[i])));
      const ce = (a: number[][]) =>
        a.reduce((acc, row, b) => {
          const q = softmax(gates[b].involved.map((i) => row[i]));
          return acc + gates[b].involved.reduce((s, i, k) => s + (q[k] - q0[b][k]) * dg[b][i], 0);
        }, ce0);
      const pairE = (a: number[][]) => pairCost(cost, gates, a, cost.fixed);
      // A hinge target the pairs' expectation exceeds while the full E[cost] does not: the term must be on.
      const cfgLoss =
        costLoss.kind === 'hinge' ? { ...costLoss, target: (pairE(alpha) + expectedCost(cost, alpha).value) / 2 } : costLoss;
      expect(pairE(alpha)).not.toBeCloseTo(expectedCost(cost, alpha).value, 2);
      const f = (a: number[][]) => combineLoss(cfgLoss, ce(a), pairE(a)).loss;
      const r = archGradients({ paths: 2, gateGrads: 'sampled', costLoss: cfgLoss }, cost, alpha, gates, dg, ce0);
      expect(r.objective).toBeCloseTo(f(alpha), 12);
      expect(r.grads[0][1]).toBe(0);
      const h = 1e-6;
      forEachNudge(alpha, h, (b, i, up, dn) => expect(r.grads[b][i]).toBeCloseTo((f(up) - f(dn)) / (2 * h), 6));
    });
  }

  it('2 paths, add: the gradient reaches only the sampled pair, through the pair softmax', () => {
    const costLoss: CostLossConfig = { kind: 'add', target: 5, lambda: 0.3 };
    const gates = [
      { active: 2, inactive: [0], involved: [2, 0] },
      { active: 1, inactive: [0], involved: [1, 0] },
    ];
    const r = archGradients({ paths: 2, gateGrads: 'sampled', costLoss }, cost, alpha, gates, none(alpha), 1);
    const pairE = (a: number[][]) => pairCost(cost, gates, a, 0);
    const h = 1e-6;
    expect(r.grads[0][1]).toBe(0);
    forEachNudge(alpha, h, (b, i, up, dn) =>
      expect(r.grads[b][i]).toBeCloseTo(((0.3 / 5) * (pairE(up) - pairE(dn))) / (2 * h), 6),
    );
  });
});

describe('REINFORCE', () => {
  it('2-arm toy: the expected update is −∇_α E[R] for any baseline (Adam descends it: α ascends the reward)', () => {
    const alpha = [[0.4, -0.3]];
    const R = [1, 0.2];
    const p = softmax(alpha[0]);
    const meanR = p[0] * R[0] + p[1] * R[1];
    const dER = p.map((pi, i) => pi * (R[i] - meanR));
    for (const baseline of [0, meanR, 0.9, -3]) {
      // K = 1: enumerate the arm drawn.
      const e = [0, 0];
      for (let a = 0; a < 2; a++)
        policyGradient(alpha, [{ choices: [a], reward: R[a] }], baseline)[0].forEach((v, i) => (e[i] += p[a] * v));
      e.forEach((v, i) => expect(v).toBeCloseTo(-dER[i], 12));
    }
    // Advantage sign: one sample of the better arm above the baseline raises its logit (the gradient is negative).
    const g = policyGradient(alpha, [{ choices: [0], reward: 1 }], 0.5)[0];
    expect(g[0]).toBeLessThan(0);
    expect(g[1]).toBeGreaterThan(0);
    // K samples average.
    const two = policyGradient(
      alpha,
      [
        { choices: [0], reward: 1 },
        { choices: [1], reward: 0.2 },
      ],
      0.6,
    )[0];
    const a0 = policyGradient(alpha, [{ choices: [0], reward: 1 }], 0.6)[0];
    const a1 = policyGradient(alpha, [{ choices: [1], reward: 0.2 }], 0.6)[0];
    two.forEach((v, i) => expect(v).toBeCloseTo((a0[i] + a1[i]) / 2, 12));
  });
});

describe("REINFORCE's update as the authors' rl_update_step: the baseline moves first, then the advantages", () => {
  const alpha = [[0.4, -0.3]];
  const R = [1, 0.2];
  const p = softmax(alpha[0]);
  const dER = p.map((pi, i) => pi * (R[i] - (p[0] * R[0] + p[1] * R[1])));
  /** The update averaged exactly over the K = 2 arms drawn (independent, each ~ p). */
  const expectedUpdate = (baseline: number | null, decay: number) => {
    const e = [0, 0];
    let b = 0;
    for (let a1 = 0; a1 < 2; a1++)
      for (let a2 = 0; a2 < 2; a2++) {
        const samples = [a1, a2].map((a) => ({ choices: [a], reward: R[a] }));
        const u = reinforceUpdate(alpha, samples, baseline, decay);
        u.grads[0].forEach((v, i) => (e[i] += p[a1] * p[a2] * v));
        b += p[a1] * p[a2] * u.baseline;
      }
    return { e, b };
  };

  it('first step: b = the mean reward; the expected update is −(1 − 1/K)·∇E[R]', () => {
    const samples = [
      { choices: [0], reward: 1 },
      { choices: [1], reward: 0.2 },
    ];
    const u = reinforceUpdate(alpha, samples, null, 0.99);
    expect(u.baseline).toBeCloseTo(0.6, 12);
    expect(u.meanReward).toBeCloseTo(0.6, 12);
    expect(u.grads[0]).toEqual(policyGradient(alpha, samples, u.baseline)[0]);
    const { e } = expectedUpdate(null, 0.99);
    e.forEach((v, i) => expect(v).toBeCloseTo(-(1 - 1 / 2) * dER[i], 12));
  });

  it('later steps: b ← b + decay·(mean − b) before the advantages; the expected update is −(1 − decay/K)·∇E[R]', () => {
    const samples = [
      { choices: [0], reward: 1 },
      { choices: [0], reward: 0.6 },
    ];
    const u = reinforceUpdate(alpha, samples, 0.3, 0.99);
    expect(u.baseline).toBeCloseTo(0.3 + 0.99 * (0.8 - 0.3), 12);
    expect(u.grads[0]).toEqual(policyGradient(alpha, samples, u.baseline)[0]);
    for (const decay of [0, 0.5, 0.99]) {
      const { e } = expectedUpdate(-2, decay);
      e.forEach((v, i) => expect(v).toBeCloseTo(-(1 - decay / 2) * dER[i], 12));
    }
    expect(() => reinforceUpdate(alpha, [{ choices: [0], reward: 1 }], 0, 1.5)).toThrow(/baseline decay must be in \[0, 1\]/);
  });
});

describe('a REINFORCE step evaluates every sampled architecture on one validation batch (common random numbers)', () => {
  it('one batchAt(step) for K architectures, each forward on the same input', async ({ skip }) => {
    if (!backend) return skip();
    const cfg: ProxylessSearchConfig = {
      ...DEFAULT_SEARCH,
      layout: TOY_LAYOUT,
      mode: 'reinforce',
      reinforceSamples: 3,
      costLoss: { kind: 'add', target: 5 },
      warmupSteps: 0,
      searchSteps: 1,
      batchSize: 8,
      valBatchSize: 8,
      logEvery: 1000,
      checkpointEvery: 0,
      seed: 4,
    };
    const s = new ProxylessSearch(backend, cfg, cifarSearchSplit(64, 32), TOY_COST);
    try {
      const parts = (s as unknown as { parts: SearchParts }).parts;
      const keys: number[] = [];
      const batchAt = parts.valStream.batchAt.bind(parts.valStream);
      parts.valStream.batchAt = (k) => (keys.push(k), batchAt(k));
      const inputs: unknown[] = [];
      const forward = parts.net.forward.bind(parts.net);
      parts.net.forward = (t, x, ...rest) => (inputs.push(x.value), forward(t, x, ...rest));
      const r = await reinforceArchStep(parts, s.alpha, null, 6);
      expect(keys).toEqual([6]);
      expect(inputs).toHaveLength(3);
      expect(new Set(inputs).size).toBe(1);
      expect(r.baseline).toBeCloseTo(r.objective, 12);
    } finally {
      s.dispose();
    }
  });
});

describe("a block whose active candidate is 'zero' gets no α update (ProxylessNAS skips it)", () => {
  for (const paths of [1, 2] as const) {
    it(`${paths} path(s): the block's α is unchanged after an architecture step`, async ({ skip }) => {
      if (!backend) return skip();
      const cfg: ProxylessSearchConfig = {
        ...DEFAULT_SEARCH,
        layout: TOY_LAYOUT,
        paths,
        costLoss: { kind: 'add', target: 5, lambda: 5 },
        warmupSteps: 0,
        searchSteps: 1,
        archEvery: 1,
        batchSize: 8,
        valBatchSize: 8,
        arch: { ...DEFAULT_SEARCH.arch, lr: 0.1 },
        logEvery: 1000,
        checkpointEvery: 0,
      };
      // Find a seed whose first architecture step samples 'zero' (index 4) as block 0's active path
      // and a real candidate in block 1 (the draws of gradientArchStep: Rng(mixSeed(seed, 4, 0))).
      const start = [Float32Array.from([0, 0, 0, 0, 1.5]), Float32Array.from([0, 0, 0, 0, 0]), Float32Array.from([0, 0, 0, 0])];
      let seed = 1;
      for (; seed < 200; seed++) {
        const rng = new Rng(mixSeed(seed, 4, 0));
        const g = start.map((a) => sampleGates(a, rng, paths));
        if (g[0].active === 4 && g[1].active !== 4) break;
      }
      const s = new ProxylessSearch(backend, { ...cfg, seed }, cifarSearchSplit(64, 32), TOY_COST);
      try {
        s.alpha = start.map((a) => Float32Array.from(a));
        const r = await s.run();
        expect(r.archSteps).toBe(1);
        expect(r.alpha[0]).toEqual(Array.from(start[0]));
        expect(r.alpha[1]).not.toEqual(Array.from(start[1]));
      } finally {
        s.dispose();
      }
    });
  }
});
