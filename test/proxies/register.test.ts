/**
 * A library user's proxies and aggregators (registerProxy / registerAggregator, from the package
 * root): scored by scoreCell and ZeroShotScorer, in 'all', ranked by addAggregates, steering a
 * search through populationScorer; names checked (one-line errors); the exported maps read-only.
 * The built-in aggregators' online rules against TypeScript references.
 */
import { describe, expect, it } from 'vitest';
import {
  addAggregates,
  AGGREGATORS,
  cePass,
  defineProxy,
  GROUPABLE_PROXIES,
  nb201Space,
  parseArch,
  populationScorer,
  PROXIES,
  type ProxyBatch,
  type ProxyInfo,
  registerAggregator,
  registerProxy,
  regularizedEvolution,
  resolveProxies,
  Rng,
  type ScoredCell,
  scoreAll,
  scoreCell,
  staticPass,
  UnknownProxyError,
  voteScores,
  weightParams,
  ZERO_SHOT_DEFAULTS,
  ZeroShotScorer,
} from '../../src/index.js';
import { logRankSum } from '../../src/proxies/az-nas-math.js';
import { cpuTestBackend } from '../helpers/backend.js';

const ARCH = '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|';
const NET = { channels: 4, cellsPerStage: 1 };
const batch = (n: number): ProxyBatch => ({
  x: new Rng(1).normals(n * 3 * 32 * 32),
  y: Float32Array.from({ length: n }, (_, i) => i % 10),
  n,
  classes: 10,
});

/** grad_norm's definition computed on the host from the weight gradients it reads back. */
const hostGradNorm = registerProxy(
  defineProxy({
    name: 'host_grad_norm',
    description: 'sum over conv/linear weights of ||dL/dW||_2, summed on the host',
    pass: cePass,
    needs: { backward: true, paramGrads: true },
    async compute(r) {
      let s = 0;
      for (const w of r.weights) if (w.grad) s += Math.sqrt((await w.grad.read()).reduce((a, v) => a + v * v, 0));
      return s;
    },
  }),
);
// A plain definition (not defineProxy's) is registered as well.
registerProxy({
  name: 'log_weights',
  description: 'log of the conv/linear weight count',
  pass: staticPass,
  groupable: true,
  compute: (ctx) => Math.log(weightParams(ctx.net).reduce((s, p) => s + p.value.size, 0)),
});
const mine = registerAggregator({
  name: 'mine',
  description: 'sum of the members, no ranks',
  members: ['host_grad_norm', 'params'],
  aggregate: (rows) => rows.map((r) => r.host_grad_norm + r.params),
});

describe('registerProxy: a library proxy is a proxy like the built-ins', () => {
  it('scoreCell scores it: the host sum equals the built-in grad_norm, log_weights the weights it counts', async ({ skip }) => {
    const backend = cpuTestBackend();
    if (!backend) return skip();
    const b = batch(4);
    const r = await scoreCell(backend, ARCH, ['host_grad_norm', 'grad_norm', 'log_weights', 'params'], b, { net: NET, seed: 2 });
    expect(r.scores.host_grad_norm).toBeGreaterThan(0);
    expect(Math.abs(r.scores.host_grad_norm - r.scores.grad_norm)).toBeLessThanOrEqual(1e-5 * r.scores.grad_norm);
    // Every weight of the network is a conv or linear weight but the BN affine pairs and the classifier bias.
    expect(Math.exp(r.scores.log_weights)).toBeCloseTo(r.scores.params * 1e6 - bnAndBias(), 3);
  });

  it("is in 'all', the groupable set where it says so, and the registry's order after the built-ins", () => {
    const all = resolveProxies(['all']).map((p) => p.name);
    expect(all.slice(-2)).toEqual(['host_grad_norm', 'log_weights']);
    expect(all).toEqual([...PROXIES.keys()]);
    expect(GROUPABLE_PROXIES.has('log_weights')).toBe(true);
    expect(GROUPABLE_PROXIES.has('host_grad_norm')).toBe(false);
    expect(PROXIES.get('host_grad_norm')).toMatchObject({ pass: 'ce', builtIn: false, unit: hostGradNorm });
    expect(PROXIES.get('wrcor')!.builtIn).toBe(true);
  });

  it('refuses a taken or bad name, another pass under a built-in pass name, and a definition without compute, in one line', () => {
    const def = (name: unknown) => ({ name, description: 'x', pass: staticPass, compute: () => 1 }) as never;
    const cases: Array<[unknown, RegExp]> = [
      [def('wrcor'), /^registerProxy: 'wrcor' is already a built-in proxy; give it another name$/],
      [def('log_weights'), /'log_weights' is already a registered proxy/],
      [def('vote'), /'vote' is already a built-in aggregator/],
      [def('mine'), /'mine' is already a registered aggregator/],
      [def('all'), /'all' is already the request for every proxy/],
      [def('Bad-Name'), /proxy name 'Bad-Name' must be a string of lower-case letters/],
      [def(7), /proxy name 7 must be a string/],
      [
        { name: 'no_compute', description: 'x', pass: staticPass },
        /proxy 'no_compute': compute must be a function, got undefined/,
      ],
      [{ name: 'no_pass', description: 'x', compute: () => 1 }, /proxy 'no_pass': pass must be a pass/],
      [
        { name: 'fake_ce', description: 'x', pass: { ...cePass }, compute: () => 1 },
        /pass 'ce' of fake_ce is another pass than the one registered under that name/,
      ],
      ['wrcor', /registerProxy: expected a proxy definition \(defineProxy's\), got 'wrcor'/],
    ];
    for (const [d, re] of cases) {
      let msg = 'no error';
      try {
        registerProxy(d as never);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
    }
    expect(PROXIES.has('no_compute') || PROXIES.has('fake_ce')).toBe(false);
  });

  it('a definition object in the proxy list, or a string for the list, is named in one line', async () => {
    const backend = { name: 'unused' } as never;
    await expect(scoreCell(backend, ARCH, [hostGradNorm as never], batch(2))).rejects.toThrow(
      /^scoreCell: proxy list entry 0 is an object, not a name; register a definition with registerProxy\(def\) and pass its name$/,
    );
    await expect(scoreCell(backend, ARCH, ['wrcor', { name: 'grad_sign', compute: () => 0 } as never], batch(2))).rejects.toThrow(
      /proxy list entry 1 is an object, not a name \(its name is 'grad_sign'\)/,
    );
    await expect(scoreCell(backend, ARCH, 'wrcor' as never, batch(2))).rejects.toThrow(
      /^scoreCell: proxies must be an array of proxy names, got 'wrcor'$/,
    );
    expect(() => resolveProxies([undefined as never])).toThrow(/resolveProxies: proxy list entry 0 is undefined, not a name/);
    expect(() => new ZeroShotScorer(backend, [hostGradNorm as never], ZERO_SHOT_DEFAULTS)).toThrow(
      /^ZeroShotScorer: proxy list entry 0 is an object, not a name/,
    );
  });

  it('the exported maps are read-only at run time', () => {
    const size = PROXIES.size;
    const info = PROXIES.get('wrcor')!;
    expect(() => (PROXIES as Map<string, ProxyInfo>).set('x', info)).toThrow(
      /PROXIES \(add a proxy with registerProxy\) is read-only/,
    );
    expect(() => (PROXIES as Map<string, ProxyInfo>).delete('wrcor')).toThrow(TypeError);
    expect(() => (PROXIES as Map<string, ProxyInfo>).clear()).toThrow(TypeError);
    expect(() => (AGGREGATORS as Map<string, unknown>).set('x', mine)).toThrow(/registerAggregator/);
    expect(() => (GROUPABLE_PROXIES as Set<string>).add('synflow')).toThrow(/GROUPABLE_PROXIES is read-only/);
    expect(() => ((info as { name: string }).name = 'x')).toThrow(TypeError);
    expect(PROXIES.size).toBe(size);
    expect(GROUPABLE_PROXIES.has('synflow')).toBe(false);
  });
});

/** The BN affine parameters and the classifier bias of NB201's network at NET (what params counts beyond the weights). */
function bnAndBias(): number {
  const C = NET.channels;
  // stem BN; per stage s: reductions' 2 BNs (s > 0), the cell's conv edges' BNs (3x3 and 1x1: 2 per cell); the last BN.
  let bn = C;
  for (let s = 0; s < 3; s++) {
    const c = C * 2 ** s;
    if (s > 0) bn += 2 * c;
    bn += 2 * c * NET.cellsPerStage;
  }
  bn += 4 * C;
  return 2 * bn + 10;
}

describe('registerAggregator: a library aggregator ranks populations and steers searches', () => {
  it('addAggregates and ZeroShotScorer use it; it is in all', async ({ skip }) => {
    const backend = cpuTestBackend();
    if (!backend) return skip();
    const cells = ['|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|', ARCH].map(parseArch);
    const scorer = new ZeroShotScorer(backend, ['mine'], { ...ZERO_SHOT_DEFAULTS, batch: batch(4), net: NET });
    expect(scorer.proxies).toEqual(['host_grad_norm', 'params']);
    const rows = await scoreAll(scorer, cells);
    addAggregates(rows, ['mine']);
    for (const r of rows) expect(r.scores.mine).toBe(r.scores.host_grad_norm + r.scores.params);
    expect(AGGREGATORS.get('mine')).toBe(mine);
  });

  it('refuses unknown members, a taken name and a missing aggregate in one line', () => {
    const agg = (o: object) => () =>
      registerAggregator({ name: 'x2', description: 'd', members: ['wrcor'], aggregate: () => [], ...o } as never);
    expect(agg({ members: ['wrcor', 'nope'] })).toThrow(
      /^registerAggregator: aggregator 'x2' has unknown member\(s\) nope \(members are per-network proxies: register them first\)$/,
    );
    expect(agg({ name: 'vote' })).toThrow(/'vote' is already a built-in aggregator/);
    expect(agg({ name: 'wrcor' })).toThrow(/'wrcor' is already a built-in proxy/);
    expect(agg({ aggregate: undefined })).toThrow(/aggregator 'x2': aggregate must be a function, got undefined/);
    expect(agg({ members: [] })).toThrow(/aggregator 'x2' needs members/);
    expect(AGGREGATORS.has('x2')).toBe(false);
  });

  it("populationScorer steers by the aggregator's online rule, else by its aggregate of the rows so far", () => {
    const ranked = registerAggregator({
      name: 'ranked',
      description: 'rank sum of a and b',
      members: ['host_grad_norm', 'log_weights'],
      aggregate: (rows) => logRankSum([rows.map((r) => r.host_grad_norm), rows.map((r) => r.log_weights)]),
    });
    const last = registerAggregator({
      name: 'last_only',
      description: 'online: minus the population size',
      members: ['log_weights'],
      aggregate: (rows) => rows.map((r) => r.log_weights),
      online: (rows) => -rows.length,
    });
    const rng = new Rng(4);
    const rows = Array.from({ length: 12 }, () => ({ host_grad_norm: rng.int(5), log_weights: rng.next() }));
    const pop = populationScorer<number>('ranked');
    rows.forEach((r, i) => expect(pop.value(r, i)).toBe(ranked.aggregate(rows.slice(0, i + 1))[i]));
    const full = ranked.aggregate(rows);
    expect(pop.best()).toEqual({ arch: full.indexOf(Math.max(...full)), score: Math.max(...full) });
    const pop2 = populationScorer<number>('last_only');
    expect(rows.map((r, i) => pop2.value(r, i))).toEqual(rows.map((_, i) => -(i + 1)));
    expect(last.online).toBeTypeOf('function');
    expect(() => populationScorer('nope')).toThrow(UnknownProxyError);
  });

  it('a class instance works (its methods on the prototype); a value count other than one per row throws one line', () => {
    class Doubled {
      readonly name = 'doubled';
      readonly description = 'twice log_weights';
      readonly members = ['log_weights'];
      private readonly k = 2;
      aggregate(rows: readonly Readonly<Record<string, number>>[]): number[] {
        return rows.map((r) => this.k * r.log_weights);
      }
      online(rows: readonly Readonly<Record<string, number>>[]): number {
        return this.k * rows[rows.length - 1].log_weights;
      }
    }
    const d = registerAggregator(new Doubled());
    expect(d.aggregate([{ log_weights: 1 }, { log_weights: 3 }])).toEqual([2, 6]);
    const pop = populationScorer<string>('doubled');
    expect([5, 7, 1].map((x, i) => pop.value({ log_weights: x }, `a${i}`))).toEqual([10, 14, 2]);
    expect(pop.best()).toEqual({ arch: 'a1', score: 14 });

    // One value short: the rows' values would shift by one, and the answer name another cell's score.
    registerAggregator({
      name: 'short_by_one',
      description: 'drops the first row',
      members: ['log_weights'],
      aggregate: (rows) => rows.slice(1).map((r) => r.log_weights),
    });
    const short = populationScorer<string>('short_by_one');
    expect(() => short.value({ log_weights: 5 }, 'a0')).toThrow(
      /^aggregator 'short_by_one': aggregate must return one number per row, got 0 values for 1 rows$/,
    );
    const rows: ScoredCell[] = [
      { arch: 'a', scores: { log_weights: 5 }, timeMs: 0 },
      { arch: 'b', scores: { log_weights: 3 }, timeMs: 0 },
    ];
    expect(() => addAggregates(rows, ['short_by_one'])).toThrow(/got 1 values for 2 rows/);
    expect(rows.every((r) => r.scores.short_by_one === undefined)).toBe(true);
    registerAggregator({
      name: 'online_text',
      description: 'online returns a string',
      members: ['log_weights'],
      aggregate: (rows) => rows.map((r) => r.log_weights),
      online: () => 'high' as never,
    });
    expect(() => populationScorer('online_text').value({ log_weights: 1 }, 0)).toThrow(
      /^aggregator 'online_text': online must return a number, got 'high'$/,
    );
  });

  it('a search steers by it: regularized evolution on a registered aggregator finds the known optimum', async () => {
    registerAggregator({
      name: 'conv3',
      description: 'the number of 3x3 conv edges',
      members: ['log_weights'],
      aggregate: (rows) => rows.map((r) => r.log_weights),
    });
    const pop = populationScorer<string>('conv3');
    const count = (a: string) => a.split('nor_conv_3x3').length - 1;
    await regularizedEvolution(
      nb201Space,
      async (cells) => cells.map((c) => pop.value({ log_weights: count(nb201Space.format(c)) }, nb201Space.format(c))),
      { budget: 300, rng: new Rng(0), populationSize: 20, sampleSize: 5 },
    );
    expect(count(pop.best().arch)).toBe(6);
    expect(pop.best().score).toBe(6);
  });
});

describe('addAggregates', () => {
  const row = (arch: string, scores: Record<string, number>): ScoredCell => ({ arch, scores, timeMs: 0 });
  it('throws one line on a row without a member, or an unknown name, before any row changes', () => {
    const rows = [row('a', { wrcor: 1, synflow: 2, jacob_cov: 3 }), row('b', { wrcor: 2, synflow: 1 })];
    expect(() => addAggregates(rows, ['vote'])).toThrow(
      /^addAggregates: 'vote' needs a 'jacob_cov' score on every row; row 1 \(b\) has none: score the rows with \['vote'\] \(its members wrcor, synflow, jacob_cov\)$/,
    );
    expect(() => addAggregates(rows, ['vot'])).toThrow(UnknownProxyError);
    expect(() => addAggregates(rows, ['vot'])).toThrow(/unknown proxy 'vot'/);
    expect(() => addAggregates(rows, [7 as never])).toThrow(/addAggregates: proxy list entry 0 is 7, not a name/);
    expect(rows.every((r) => r.scores.vote === undefined)).toBe(true);
  });

  it('adds the vote (a TypeScript Borda reference) and passes over per-network names', () => {
    const rows = [
      row('a', { wrcor: 1, synflow: 5, jacob_cov: 3 }),
      row('b', { wrcor: 2, synflow: 1, jacob_cov: NaN }),
      row('c', { wrcor: 3, synflow: 4, jacob_cov: 9 }),
    ];
    addAggregates(rows, ['wrcor', 'vote']);
    // Normalised ranks per member (NaN lowest), averaged: wrcor 0, .5, 1; synflow 1, 0, .5; jacob_cov .5, 0, 1.
    expect(rows.map((r) => r.scores.vote)).toEqual([0.5, 0.5 / 3, 2.5 / 3]);
    expect(rows.map((r) => r.scores.vote)).toEqual(voteScores(rows.map((r) => r.scores)));
  });
});

describe("the built-in aggregators' online rules (what wgnas search steers by)", () => {
  const rng = new Rng(9);
  const rows = Array.from({ length: 15 }, () => ({
    wrcor: rng.next(),
    synflow: rng.next() < 0.1 ? NaN : rng.next(),
    jacob_cov: rng.next() < 0.1 ? -Infinity : rng.next(),
  }));

  it('vote: per member the share of the architectures so far it ranks below the newest (non-finite lowest), averaged', () => {
    const pop = populationScorer<number>('vote');
    const low = (x: number) => (Number.isFinite(x) ? x : -Infinity);
    rows.forEach((r, i) => {
      const seen = rows.slice(0, i + 1);
      const below = (m: 'wrcor' | 'synflow' | 'jacob_cov') => seen.filter((s) => low(s[m]) < low(r[m])).length / Math.max(1, i);
      expect(pop.value(r, i)).toBeCloseTo((below('wrcor') + below('synflow') + below('jacob_cov')) / 3, 12);
    });
  });

  it('vote: a non-finite score steers as the vote ranks it, lowest (+Infinity is no top score, NaN is beaten)', () => {
    const vote = AGGREGATORS.get('vote')!;
    // The newest has synflow +Infinity and is worse on the others: the vote ranks it last.
    const inf = [
      { wrcor: 1, synflow: 1, jacob_cov: 1 },
      { wrcor: 0, synflow: Infinity, jacob_cov: 0 },
    ];
    const p1 = populationScorer<number>('vote');
    expect(inf.map((r, i) => p1.value(r, i))).toEqual([0, 0]);
    expect(vote.aggregate(inf)).toEqual([1, 0]);
    // A finite synflow beats the NaN before it.
    const nan = [
      { wrcor: 1, synflow: NaN, jacob_cov: 1 },
      { wrcor: 0, synflow: 5, jacob_cov: 0 },
    ];
    const p2 = populationScorer<number>('vote');
    expect(nan.map((r, i) => p2.value(r, i))).toEqual([0, 1 / 3]);
    expect(vote.aggregate(nan)).toEqual([2 / 3, 1 / 3]);
  });

  it('log-rank aggregates: without ties, the newest row of logRankSum over the rows so far', () => {
    const members = AGGREGATORS.get('az_nas')!.members;
    const distinct = Array.from({ length: 15 }, (_, i) =>
      Object.fromEntries(members.map((m, k) => [m, ((i * 7 + k * 3) % 15) + k / 10])),
    );
    const pop = populationScorer<number>('az_nas');
    distinct.forEach((r, i) => {
      const prefix = distinct.slice(0, i + 1);
      const want = logRankSum(members.map((m) => prefix.map((p) => p[m])))[i];
      expect(pop.value(r, i)).toBeCloseTo(want, 12);
    });
  });
});
