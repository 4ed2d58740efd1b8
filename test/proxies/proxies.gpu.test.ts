import { onGpu } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { loadNb201ReferenceProxies } from '../../src/data/nb201-bench.js';
import { correlationCpu } from '../../src/kernels/correlation.js';
import type { ReluRecord } from '../../src/nn/tape.js';
import { naswotScore, wrcorScores } from '../../src/proxies/correlation-proxies.js';
import { scoreCell } from '../../src/zeroshot/index.js';
import { logAbsDet } from '../../src/proxies/linalg.js';
import { nb201Factory, type Nb201NetConfig } from '../../src/nn/nb201-net.js';
import type { NetFactory } from '../../src/nn/scorable.js';
import { AGGREGATORS, defineProxy, GROUPABLE_PROXIES, PROXIES, scoreNet, VOTE_MEMBERS } from '../../src/proxies/index.js';
import { cePass } from '../../src/proxies/passes.js';
import { resolveProxies } from '../../src/proxies/registry.js';
import { voteScores } from '../../src/proxies/vote.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { proxyBatch } from '../../src/zeroshot/index.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('WRCor and NASWOT on hand-built ReLU records', () => {
  it('WRCor = log|det sum 2^module (|C_act| + |C_grad|)| against the CPU formula', async ({ skip }) => {
    if (!gpu) return skip();
    const n = 5;
    const rng = new Rng(11);
    const shapes = [
      [n, 2, 3, 3],
      [n, 4, 2, 2],
      [n, 3, 1, 1],
    ];
    const blocks = [0, 1, 2];
    // 2^17, NB201's final ReLU weight, on a record with D >= n (a full-rank term): on the one with
    // 3 features (rank 2) it would leave the small terms a few bits of K's f32 sum.
    const modules = [4, 17, 0];
    const recs: ReluRecord[] = [];
    const host: Array<{ a: Float32Array; g: Float32Array; d: number; block: number; module: number }> = [];
    shapes.forEach((s, i) => {
      const d = s[1] * s[2] * s[3];
      const a = rng.normals(n * d);
      const g = rng.normals(n * d);
      host.push({ a, g, d, block: blocks[i], module: modules[i] });
      recs.push({ name: `r${i}`, block: blocks[i], module: modules[i], input: gpu!.upload(a, s), gradInput: gpu!.upload(g, s) });
    });
    const got = await wrcorScores(onGpu(gpu), recs, n);
    const k = (useAct: boolean, useGrad: boolean, weighted: boolean | 'stage') => {
      const m = new Float64Array(n * n);
      for (const h of host) {
        const w = weighted === 'stage' ? 2 ** h.block : weighted ? 2 ** h.module : 1;
        const ca = correlationCpu(h.a, 1, n, h.d);
        const cg = correlationCpu(h.g, 1, n, h.d);
        for (let i = 0; i < n * n; i++) m[i] += w * ((useAct ? Math.abs(ca[i]) : 0) + (useGrad ? Math.abs(cg[i]) : 0));
      }
      return logAbsDet(m, n);
    };
    expect(got.wrcor).toBeCloseTo(k(true, true, true), 3);
    expect(got.wrcor_act).toBeCloseTo(k(true, false, true), 3);
    expect(got.wrcor_grad).toBeCloseTo(k(false, true, true), 3);
    expect(got.wrcor_unweighted).toBeCloseTo(k(true, true, false), 3);
    expect(got.wrcor_stage).toBeCloseTo(k(true, true, 'stage'), 3);
    // The two weightings differ here (modules 4, 17, 0 against stages 0, 1, 2).
    expect(Math.abs(got.wrcor - got.wrcor_stage)).toBeGreaterThan(1);
    for (const r of recs) {
      r.input.dispose();
      r.gradInput!.dispose();
    }
  });

  it('NASWOT: two samples whose codes differ in h of D units give log(D^2 - (D-h)^2)', async ({ skip }) => {
    if (!gpu) return skip();
    // D = 6 units; codes 110100 vs 100110 differ in 2 places.
    const x = Float32Array.from([1, 2, -1, 3, -2, -1, /**/ 5, -1, -3, 2, 4, -2]);
    const rec: ReluRecord = { name: 'r', block: 0, module: 0, input: gpu.upload(x, [2, 6]) };
    const s = await naswotScore(onGpu(gpu), [rec], 2);
    expect(s).toBeCloseTo(Math.log(6 * 6 - 4 * 4), 5);
    rec.input.dispose();
  });

  it('vote is the mean normalised rank of its members', () => {
    const rows = [
      { wrcor: 1, synflow: 10, jacob_cov: -5 },
      { wrcor: 3, synflow: 30, jacob_cov: -1 },
      { wrcor: 2, synflow: 20, jacob_cov: -9 },
    ];
    expect(voteScores(rows)).toEqual([(0 + 0 + 0.5) / 3, 1, (0.5 + 0.5 + 0) / 3]);
    expect(() => voteScores([{ wrcor: 1 }])).toThrow(/synflow/);
    // Borda, not the authors' pairwise majority: A beats B in two of three members, yet B's
    // ranks sum higher (docs/results.md).
    const [a, b] = voteScores([
      { wrcor: 4, synflow: 4, jacob_cov: 1 },
      { wrcor: 3, synflow: 3, jacob_cov: 4 },
      { wrcor: 2, synflow: 2, jacob_cov: 3 },
      { wrcor: 1, synflow: 1, jacob_cov: 2 },
    ]);
    expect(a).toBeLessThan(b);
  });

  it('the registry rejects unknown proxies and expands vote/all', () => {
    expect(() => resolveProxies(['wrcor', 'nope'])).toThrow(/unknown proxy 'nope'/);
    // A retired name says what it is now, in one line.
    expect(() => resolveProxies(['WRCor_Module'])).toThrow(
      /^proxy 'WRCor_Module' is now 'wrcor' \(WRCor definition 3: 2\^module, the authors' weights; the former wrcor, 2\^stage, is 'wrcor_stage'\)$/,
    );
    expect(resolveProxies(['vote']).map((p) => p.name)).toEqual(['wrcor', 'synflow', 'jacob_cov']);
    expect(resolveProxies(['all']).length).toBeGreaterThanOrEqual(14);
  });
});

/** The WRCor family's columns, in the registry's order. */
const WRCOR_FAMILY = ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'wrcor_stage'];

describe('the registry and the pass runner', () => {
  it('groupable set and vote members come from the registered units', () => {
    expect([...GROUPABLE_PROXIES]).toEqual([...WRCOR_FAMILY, 'naswot', 'swap', 'reg_swap', 'params', 'flops']);
    expect([...GROUPABLE_PROXIES]).toEqual([...PROXIES.values()].filter((p) => p.groupable).map((p) => p.name));
    expect(VOTE_MEMBERS).toEqual(AGGREGATORS.get('vote')!.members);
    expect([...PROXIES.keys()]).toEqual([
      ...WRCOR_FAMILY,
      'naswot',
      'swap',
      'reg_swap',
      'grad_norm',
      'snip',
      'jacob_cov',
      'zico',
      'meco',
      'zen',
      'synflow',
      'params',
      'flops',
      'az_nas_expressivity',
      'az_nas_progressivity',
      'az_nas_trainability',
      'az_nas_complexity',
      'vkdnw',
      'vkdnw_entropy',
    ]);
    for (const p of PROXIES.values()) expect(p.description.length, p.name).toBeGreaterThan(10);
    expect(() => defineProxy({ name: 'Bad-Name', description: 'x', pass: cePass, compute: () => 0 })).toThrow(/lower-case/);
  });

  it('builds each pass once per network: one forward serves WRCor, NASWOT, grad_norm and SNIP', async ({ skip }) => {
    if (!gpu) return skip();
    const cfg: Nb201NetConfig = { channels: 2, cellsPerStage: 1, numClasses: 10 };
    const rng = new Rng(4);
    const n = 4;
    const batch = { x: rng.normals(n * 3 * 32 * 32), y: Float32Array.from({ length: n }, () => rng.int(10)), n };
    const inner = nb201Factory(
      onGpu(gpu),
      parseArch('|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|'),
      cfg,
    );
    const counting = (): { factory: NetFactory; forwards: Record<string, number> } => {
      const forwards: Record<string, number> = {};
      const factory: NetFactory = {
        flopsM: inner.flopsM,
        build(init, r) {
          const net = inner.build(init, r);
          const fwd = net.forward.bind(net);
          net.forward = (t, x) => {
            forwards[init] = (forwards[init] ?? 0) + 1;
            return fwd(t, x);
          };
          return net;
        },
      };
      return { factory, forwards };
    };
    const ce = counting();
    const r = await scoreNet(onGpu(gpu), ce.factory, ['wrcor', 'naswot', 'grad_norm', 'snip'], batch, 1);
    expect(ce.forwards).toEqual({ pytorch: 1 });
    expect(Object.keys(r.scores)).toEqual([...WRCOR_FAMILY, 'naswot', 'grad_norm', 'snip']);
    expect(Object.keys(r.timeMs)).toEqual(['ce']);
    const all = counting();
    const ra = await scoreNet(onGpu(gpu), all.factory, ['all'], batch, 1);
    // ce 1, jacobian 1, zico 2 half-batches, meco 1, synflow 1; Zen's Gaussian copy x and x + 0.01e;
    // VKDNW's kaiming-initialised copy once (AZ-NAS runs block by block, not through forward()).
    expect(all.forwards).toEqual({ pytorch: 6, gaussian: 2, kaiming: 1 });
    expect(Object.keys(ra.timeMs)).toEqual(['ce', 'jacobian', 'zico', 'meco', 'az_nas', 'zen', 'vkdnw', 'synflow']);
    // Each proxy's value does not depend on what else was asked for in the same call.
    for (const p of ['wrcor', 'naswot', 'grad_norm', 'snip']) expect(ra.scores[p], p).toBe(r.scores[p]);
  });
});

describe('proxies vs the PyTorch reference scores (nb201_zc_proxies.csv)', () => {
  // Five cells spread over the reference's NASWOT range.
  const ref = loadNb201ReferenceProxies()
    .filter((r) => r.scores.nwot > 0)
    .sort((a, b) => a.scores.nwot - b.scores.nwot);
  const picks = [0.05, 0.3, 0.5, 0.7, 0.95].map((q) => ref[Math.floor(q * (ref.length - 1))]);

  it('SynFlow (ln), #params and FLOPs match the reference values; NASWOT within 3% and in the same order', async ({ skip }) => {
    if (!gpu) return skip();
    const batch = proxyBatch(64, 0);
    const ours: number[] = [];
    for (const r of picks) {
      const { scores } = await scoreCell(onGpu(gpu), parseArch(r.arch), ['synflow', 'naswot', 'params', 'flops'], batch, {
        seed: 1,
      });
      // SynFlow depends on the random init only through sums over all weights: ln values agree to
      // well under the spread across cells (~0 to ~100).
      expect(
        Math.abs(scores.synflow - r.scores.synflow),
        `${r.arch}: synflow ${scores.synflow} vs ${r.scores.synflow}`,
      ).toBeLessThan(0.2);
      expect(scores.params).toBeCloseTo(r.scores.params, 5);
      expect(scores.flops).toBeCloseTo(r.scores.flops, 5);
      expect(Math.abs(scores.naswot - r.scores.nwot) / r.scores.nwot, r.arch).toBeLessThan(0.03);
      ours.push(scores.naswot);
    }
    // picks are sorted by the reference NASWOT: ours must be in the same order.
    expect([...ours].sort((a, b) => a - b)).toEqual(ours);
  });
});
