/**
 * SynFlow's seed derived on the device (synflowSeed, shaders/synflow_seed.wgsl): the pass reads
 * nothing between its forward and backward, and gives the score of the host path (the forward read
 * back, R' summed in f64) bit for bit: on cells in range (the deepest one's seed near 2^-100), on
 * ones whose forward leaves f32 range (redone at another input scale), on one where b would pass
 * the limit (redone balanced), and on a
 * cell whose output node receives nothing (-Infinity). The kernel itself: where it gives b, the
 * host's b; where it gives a code, the host's verdict or "the host decides".
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Backend, gpuOf } from '../../src/backend/index.js';
import { SYNFLOW_SEED_CODES, synflowSeedCpu } from '../../src/kernels/synflow-seed.js';
import { synflowScore, type SynflowScales } from '../../src/proxies/synflow.js';
import { Rng } from '../../src/util/rng.js';
import { gpuBackend } from '../helpers/backend.js';
import { MID_CELL, onFreshNet, TOP_CELL } from '../helpers/synflow.js';

const MAX_SHIFT = 100;
// TOP_CELL is in range at input 2^-64 only with a seed of 2^-b, b in the 90s.
/** The output node receives nothing: the feature map is all zero at every scale, the score -Infinity. */
const DISCONNECTED = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|';

let backend: Backend | null;
beforeAll(async () => {
  backend = await gpuBackend();
});

/** SynFlow of a fresh network of `arch` (weights scaled by `scale` first) and the host waits it took. */
const score = (arch: string, scales: SynflowScales | undefined, scale: Record<string, number> = {}) =>
  onFreshNet(backend!, arch, scale, async (ctx) => {
    await ctx.backend.sync();
    const gpu = gpuOf(ctx.backend)!;
    const w0 = gpu.hostWaitCount;
    const value = await synflowScore(ctx, scales);
    return { value, waits: gpu.hostWaitCount - w0 };
  });

describe('SynFlow with the seed derived on the device', () => {
  // [cell, weights scaled by 2^k, whether the first forward stays in range]
  const cells: Array<[string, string, Record<string, number>, boolean]> = [
    ['in range', MID_CELL, {}, true],
    ['in range, a gain x 2^40', MID_CELL, { 'classifier.w': 40 }, true],
    ['the deepest cell: the seed scaled by 2^-b, b near the limit', TOP_CELL, {}, true],
    ['b would pass 100 (gain x 2^100): redone balanced', MID_CELL, { 'classifier.w': 100 }, false],
    ['the logits overflow: redone at input 2^-100', MID_CELL, { 'stem.conv': 13, 'classifier.w': 100 }, false],
    ['the feature map underflows: redone at input 1', MID_CELL, { 'stem.conv': -100 }, false],
    ['the output node receives nothing: -Infinity', DISCONNECTED, {}, false],
  ];
  for (const [what, arch, scale, inRange] of cells) {
    it(`${what}: the host path's score bit for bit${inRange ? ', with one read' : ''}`, async ({ skip }) => {
      if (!backend) return skip();
      const host = await score(arch, { host: true }, scale);
      const dev = await score(arch, undefined, scale);
      expect(Object.is(dev.value, host.value), `device ${dev.value}, host ${host.value}`).toBe(true);
      if (arch === DISCONNECTED) expect(dev.value).toBe(-Infinity);
      else expect(Number.isFinite(dev.value)).toBe(true);
      // The host path reads the forward back (and the redo's); the device path only the sums (and the status).
      expect(host.waits).toBeGreaterThan(1);
      if (inRange) expect(dev.waits).toBe(1);
      else expect(dev.waits).toBeGreaterThan(1);
    });
  }
});

type Verdict = number | 'redoAtMax' | 'redoAtZero' | 'balanced';

/** What the host decides from the forward at a = 64 (src/proxies/synflow.ts, runScaled). */
function hostVerdict(logits: Float32Array, features: Float32Array): Verdict {
  const r = logits.reduce((s, x) => s + x, 0);
  const fs = features.reduce((s, x) => s + x, 0);
  if (!Number.isFinite(r) || !Number.isFinite(fs)) return 'redoAtMax';
  if (fs === 0) return 'redoAtZero';
  if (Math.floor(Math.log2(r)) > MAX_SHIFT) return 'balanced';
  return r > 0 ? Math.max(-MAX_SHIFT, Math.floor(Math.log2(r))) : 0;
}

describe('synflowSeed', () => {
  const rng = new Rng(7);
  const rand = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
  const f32 = (...xs: number[]) => Float32Array.from(xs);
  // [name, logits, features, the fast path expected (a b, not a code)]
  const cases: Array<[string, Float32Array, Float32Array, boolean]> = [
    ['10 classes', rand(10, 0.1, 2), rand(4096, 0, 1), true],
    ['100 classes, large', rand(100, 1e20, 3e20), rand(4096, 0, 1), true],
    ['1000 classes, small', rand(1000, 1e-20, 2e-20), rand(100, 0, 1e-30), true],
    ['one logit, features sparse', f32(3), Float32Array.from({ length: 999 }, (_, i) => (i === 500 ? 2 ** -140 : 0)), true],
    ['subnormal logits beside normal ones', f32(2 ** -140, 1.5, 2 ** -149), f32(1), true],
    ['a sum of exactly 2^0', f32(0.5, 0.25, 0.25), f32(1), false],
    // f64 rounds 1 - 2^-72 up to 1: the host's b is 0, the exact sum's binade -1.
    ['f64 rounds the sum up to a power of two', f32(1 - 2 ** -24, 2 ** -24 - 2 ** -48, 2 ** -48 - 2 ** -72), f32(1), false],
    ['a NaN logit', f32(1, NaN), f32(1), false],
    ['an infinite feature', f32(1, 2), f32(0, Infinity), false],
    ['all-zero features (-0 too)', f32(1, 2), f32(0, -0, 0), false],
    ['features that sum to 0 but are not all zero', f32(1, 2), f32(1, -1), false],
    ['a negative logit', f32(1, -0.5), f32(1), false],
    ['-0 logits beside positive ones', f32(-0, 3), f32(1), true],
    ['all-zero logits', f32(0, 0), f32(1), false],
    ['a sum below 2^-100', f32(2 ** -110, 2 ** -111), f32(1), false],
    ['a sum past 2^100', f32(2 ** 101, 3), f32(1), false],
    ['a sum in the binade of 2^99', f32(2 ** 99 * 1.5), f32(1), true],
  ];

  it('gives b where the host would, a code otherwise; the seed 2^-b, else 0', async ({ skip }) => {
    if (!backend) return skip();
    const b = backend;
    const ops = b.deviceOnly!;
    for (const [name, logits, features, fast] of cases) {
      const l = b.upload(logits, [1, logits.length]);
      const f = b.upload(features, [features.length]);
      const seed = b.empty([1, logits.length]);
      const status = b.empty([1]);
      ops.synflowSeed(l, f, seed, status, MAX_SHIFT);
      const [code] = await status.read();
      const seeds = await seed.read();
      [l, f, seed, status].forEach((t) => t.dispose());
      const verdict = hostVerdict(logits, features);
      const where = `${name}: code ${code}, host ${verdict}`;
      expect(code, where).toBe(synflowSeedCpu(logits, features, MAX_SHIFT));
      if (code < SYNFLOW_SEED_CODES.redoAtMax) {
        expect(code, where).toBe(verdict);
        expect(seeds.every((s) => s === 2 ** -code)).toBe(true);
      } else {
        expect(seeds.every((s) => s === 0)).toBe(true);
        if (code === SYNFLOW_SEED_CODES.redoAtMax) expect(verdict, where).toBe('redoAtMax');
        else if (code === SYNFLOW_SEED_CODES.redoAtZero) expect(verdict, where).toBe('redoAtZero');
        else expect(code, where).toBe(SYNFLOW_SEED_CODES.host);
      }
      expect(code < SYNFLOW_SEED_CODES.redoAtMax, where).toBe(fast);
    }
  });

  it('refuses operands that do not fit', async ({ skip }) => {
    if (!backend) return skip();
    const b = backend;
    const [l, f, s, st] = [b.zeros([1, 10]), b.zeros([4]), b.zeros([1, 9]), b.zeros([1])];
    expect(() => b.deviceOnly!.synflowSeed(l, f, s, st, MAX_SHIFT)).toThrow(/seed must have the logits' 10 elements, got 9/);
    expect(() => b.deviceOnly!.synflowSeed(l, f, l, st, 127)).toThrow(/maxShift must be an integer in 1\.\.126/);
    [l, f, s, st].forEach((t) => t.dispose());
  });

  it('refuses a written operand sharing its buffer with another (WebGPU would drop the dispatch), as the other ops', async ({
    skip,
  }) => {
    if (!backend) return skip();
    const b = backend;
    const [l, f, s] = [b.upload([1, 2, 3]), b.upload([1, 1]), b.zeros([4])];
    const seed = b.window(s, [3]);
    try {
      expect(() => b.deviceOnly!.synflowSeed(l, f, seed, s, MAX_SHIFT)).toThrow(
        'synflowSeed: seed must not share its buffer with status',
      );
      expect(() => b.deviceOnly!.synflowSeed(l, f, seed, l, MAX_SHIFT)).toThrow(
        'synflowSeed: status must not share its buffer with logits',
      );
      // Nothing was queued: the device goes on.
      await b.sync();
    } finally {
      [l, f, s].forEach((t) => t.dispose());
    }
  });
});
