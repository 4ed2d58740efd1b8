/**
 * Scores one network (a NAS-Bench-201 cell, or any ScorableNet such as an AutoSpace/ProxylessNAS
 * architecture) with any set of proxies, sharing passes: one cross-entropy
 * forward/backward serves WRCor (+ablations), NASWOT, grad_norm and SNIP; the others run their
 * own pass. SynFlow runs last because it linearises the weights in place.
 */
import type { Gpu } from '../gpu/gpu.js';
import { abs } from '../kernels/elementwise.js';
import { correlation } from '../kernels/correlation.js';
import { sumAbsProduct, sumSquares } from '../kernels/reduce.js';
import { NB201_DEFAULT, Nb201Net, type Nb201NetConfig, nb201Complexity } from '../nn/nb201-net.js';
import { type Param, Tape, type Var } from '../nn/tape.js';
import type { Nb201Cell } from '../spaces/nb201.js';
import { Rng } from '../util/rng.js';
import { naswotScore, naswotScoresMany, wrcorScores, wrcorScoresMany } from './correlation-proxies.js';
import { symmetricEigenvalues } from './linalg.js';
import { type ProxyInfo, resolveProxies } from './registry.js';

export interface ProxyBatch {
  /** Normalised images, NCHW [n, 3, 32, 32]. */
  x: Float32Array;
  /** Labels as f32 class indices [n]. */
  y: Float32Array;
  n: number;
}

export interface ScoreOptions {
  net?: Nb201NetConfig;
  /** Seeds the weight initialisation (and Zen's Gaussian input). */
  seed?: number;
}

/** What the proxies need of a network: parameters, a forward on the tape, and counts. */
export interface ScorableNet {
  readonly params: readonly Param[];
  paramCount(): number;
  /** `features` is the last feature map before global pooling (Zen-score reads it). */
  forward(t: Tape, x: Var): { logits: Var; features: Var };
  zeroGrad(): void;
  dispose(): void;
}

/** Builds fresh copies of one architecture (Zen-score wants a Gaussian-initialised copy). */
export interface NetFactory {
  build(init: 'pytorch' | 'gaussian', rng: Rng): ScorableNet;
  /** Reported by the 'flops' proxy, in millions. */
  flopsM: number;
}

export function nb201Factory(gpu: Gpu, cell: Nb201Cell, cfg: Nb201NetConfig = NB201_DEFAULT): NetFactory {
  return {
    build: (init, rng) => new Nb201Net(gpu, cell, { ...cfg, init }, rng),
    flopsM: nb201Complexity(cell, cfg).flopsNb201 / 1e6,
  };
}

export interface CellScores {
  scores: Record<string, number>;
  /** Wall-clock milliseconds per pass, e.g. { ce: 812, synflow: 40 }. */
  timeMs: Record<string, number>;
}

const SYNFLOW_SHIFT = 64;

const weightParams = (net: ScorableNet): Param[] => net.params.filter((p) => p.kind === 'conv' || p.kind === 'linear');

async function readScalars(gpu: Gpu, ts: Array<{ read(): Promise<Float32Array>; dispose(): void }>): Promise<number[]> {
  const vals = await Promise.all(ts.map((t) => t.read()));
  ts.forEach((t) => t.dispose());
  return vals.map((v) => v[0]);
}

export async function scoreCell(
  gpu: Gpu,
  cell: Nb201Cell,
  proxyNames: readonly string[],
  batch: ProxyBatch,
  opts: ScoreOptions = {},
): Promise<CellScores> {
  return scoreNet(gpu, nb201Factory(gpu, cell, opts.net ?? NB201_DEFAULT), proxyNames, batch, opts.seed ?? 0);
}

/** Scores any network on a 32×32 batch; the factory is called once (twice with Zen-score). */
export async function scoreNet(
  gpu: Gpu,
  factory: NetFactory,
  proxyNames: readonly string[],
  batch: ProxyBatch,
  seed = 0,
): Promise<CellScores> {
  const proxies = resolveProxies(proxyNames);
  const want = (name: string) => proxies.some((p: ProxyInfo) => p.name === name);
  const passes = new Set(proxies.map((p) => p.pass));
  const n = batch.n;
  if (batch.x.length !== n * 3 * 32 * 32 || batch.y.length !== n) {
    throw new RangeError(`scoreCell: batch of ${n} needs x of ${n * 3 * 32 * 32} and y of ${n} values`);
  }
  const scores: Record<string, number> = {};
  const timeMs: Record<string, number> = {};
  const timed = async (pass: string, fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    await gpu.sync();
    timeMs[pass] = performance.now() - t0;
  };

  const net = factory.build('pytorch', new Rng(seed));
  const x = gpu.upload(batch.x, [n, 3, 32, 32]);
  const y = gpu.upload(batch.y, [n]);
  try {
    if (passes.has('static')) {
      if (want('params')) scores.params = net.paramCount() / 1e6;
      if (want('flops')) scores.flops = factory.flopsM;
    }

    if (passes.has('ce')) {
      await timed('ce', async () => {
        // NASWOT alone needs only the forward activations.
        const needsBackward = proxies.some((p) => p.pass === 'ce' && p.name !== 'naswot');
        // WRCor reads activation gradients only: weight gradients just for grad_norm / SNIP.
        const paramGrads = want('grad_norm') || want('snip');
        const tape = new Tape(gpu, { recordRelus: true, noGrad: !needsBackward, paramGrads: paramGrads ? 'all' : 'none' });
        try {
          const { logits } = net.forward(tape, tape.input(x, !paramGrads));
          if (needsBackward) tape.backward(tape.crossEntropy(logits, y));
          if (proxies.some((p) => p.name.startsWith('wrcor'))) Object.assign(scores, await wrcorScores(gpu, tape.relus, n));
          if (want('naswot')) scores.naswot = await naswotScore(gpu, tape.relus, n);
          const ws = weightParams(net);
          if (want('grad_norm')) {
            const sq = await readScalars(gpu, ws.map((p) => sumSquares(gpu, p.grad!)));
            scores.grad_norm = sq.reduce((s, v) => s + Math.sqrt(v), 0);
          }
          if (want('snip')) {
            const v = await readScalars(gpu, ws.map((p) => sumAbsProduct(gpu, p.value, p.grad!)));
            scores.snip = v.reduce((s, a) => s + a, 0);
          }
        } finally {
          tape.dispose();
          net.zeroGrad();
        }
      });
    }

    if (passes.has('jacobian')) {
      await timed('jacobian', async () => {
        // Gradient of the summed logits w.r.t. each input image (rows of the Jacobian sum).
        const tape = new Tape(gpu, { paramGrads: 'none' });
        try {
          const xin = tape.input(x, true);
          const { logits } = net.forward(tape, xin);
          tape.backward(logits);
          const c = correlation(gpu, xin.grad!.view([n, 3 * 32 * 32]));
          const ev = symmetricEigenvalues(await c.read(), n);
          c.dispose();
          const k = 1e-5;
          scores.jacob_cov = -ev.reduce((s, v) => s + Math.log(Math.max(v, 0) + k) + 1 / (Math.max(v, 0) + k), 0);
          xin.grad!.dispose();
        } finally {
          tape.dispose();
          net.zeroGrad();
        }
      });
    }

    if (passes.has('zico')) {
      await timed('zico', async () => {
        scores.zico = await zicoScore(gpu, net, batch);
      });
    }

    if (passes.has('meco')) {
      await timed('meco', async () => {
        const tape = new Tape(gpu, { recordRelus: true, noGrad: true });
        const one = gpu.upload(batch.x.subarray(0, 3 * 32 * 32), [1, 3, 32, 32]);
        try {
          net.forward(tape, tape.input(one));
          let total = 0;
          for (const r of tape.relus) {
            const [, ch, h, w] = r.input.shape;
            if (ch < 2 || h * w < 2) continue;
            const c = correlation(gpu, r.input.view([ch, h * w]));
            const ev = symmetricEigenvalues(await c.read(), ch);
            c.dispose();
            total += ev[0];
          }
          scores.meco = total;
        } finally {
          tape.dispose();
          one.dispose();
        }
      });
    }

    if (passes.has('zen')) {
      await timed('zen', async () => {
        scores.zen = await zenScore(gpu, factory, seed, n);
      });
    }

    if (passes.has('synflow')) {
      await timed('synflow', async () => {
        for (const p of net.params) {
          const a = abs(gpu, p.value);
          p.value.dispose();
          p.value = a;
        }
        const tape = new Tape(gpu, { bnIdentity: true });
        // With |W| and BN removed every ReLU sees non-negative input, so R is linear in the input:
        // scaling the all-ones input by 2^-SYNFLOW_SHIFT scales the score exactly by the same factor
        // and keeps f32 activations of deep cells far from overflow (PyTorch uses f64 instead).
        const ones = gpu.upload(new Float32Array(3 * 32 * 32).fill(2 ** -SYNFLOW_SHIFT), [1, 3, 32, 32]);
        try {
          const { logits } = net.forward(tape, tape.input(ones));
          tape.backward(logits);
          const v = await readScalars(gpu, weightParams(net).map((p) => sumAbsProduct(gpu, p.value, p.grad!)));
          // Reported as a natural log: the raw sum exceeds f32 range for deep NB201 cells.
          scores.synflow = Math.log(v.reduce((s, a) => s + a, 0)) + SYNFLOW_SHIFT * Math.LN2;
        } finally {
          tape.dispose();
          ones.dispose();
          net.zeroGrad();
        }
      });
    }
  } finally {
    x.dispose();
    y.dispose();
    net.dispose();
  }
  return { scores, timeMs };
}

/** Proxies that several architectures can share batched correlation dispatches for. */
export const GROUPABLE_PROXIES: ReadonlySet<string> = new Set(['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'naswot', 'params', 'flops']);

/**
 * Scores several architectures together: each network's forward/backward runs on its own tape, the
 * tapes stay alive, and the correlation matrices of all their ReLUs go through the batched
 * WRCor/NASWOT path at once (a few dispatches per layer-size group for the whole group instead of a
 * chain per ReLU per network). Memory grows with the group: every tape's activations and gradients
 * are alive together. Same scores as scoreNet on each.
 */
export async function scoreNetsGrouped(
  gpu: Gpu,
  factories: readonly NetFactory[],
  proxyNames: readonly string[],
  batch: ProxyBatch,
  seed = 0,
): Promise<CellScores[]> {
  const proxies = resolveProxies(proxyNames);
  const bad = proxies.filter((p) => !GROUPABLE_PROXIES.has(p.name));
  if (bad.length) throw new RangeError(`scoreNetsGrouped: ${bad.map((p) => p.name).join(', ')} cannot be grouped (only ${[...GROUPABLE_PROXIES].join(', ')})`);
  const want = (name: string) => proxies.some((p) => p.name === name);
  const wantWrcor = proxies.some((p) => p.name.startsWith('wrcor'));
  const n = batch.n;
  const t0 = performance.now();
  const x = gpu.upload(batch.x, [n, 3, 32, 32]);
  const y = gpu.upload(batch.y, [n]);
  const nets: ScorableNet[] = [];
  const tapes: Tape[] = [];
  const out: CellScores[] = factories.map(() => ({ scores: {}, timeMs: {} }));
  try {
    for (const [i, f] of factories.entries()) {
      const net = f.build('pytorch', new Rng(seed));
      nets.push(net);
      if (want('params')) out[i].scores.params = net.paramCount() / 1e6;
      if (want('flops')) out[i].scores.flops = f.flopsM;
      if (!wantWrcor && !want('naswot')) continue;
      const tape = new Tape(gpu, { recordRelus: true, noGrad: !wantWrcor, paramGrads: 'none' });
      tapes.push(tape);
      const { logits } = net.forward(tape, tape.input(x, wantWrcor));
      if (wantWrcor) tape.backward(tape.crossEntropy(logits, y));
    }
    if (tapes.length) {
      const relus = tapes.map((t) => t.relus);
      if (wantWrcor) (await wrcorScoresMany(gpu, relus, n)).forEach((s, i) => Object.assign(out[i].scores, s));
      if (want('naswot')) (await naswotScoresMany(gpu, relus, n)).forEach((s, i) => (out[i].scores.naswot = s));
    }
  } finally {
    tapes.forEach((t) => t.dispose());
    nets.forEach((m) => m.dispose());
    x.dispose();
    y.dispose();
  }
  const each = (performance.now() - t0) / Math.max(1, factories.length);
  out.forEach((o) => (o.timeMs.ce = each));
  return out;
}

/** ZiCo (Li et al. 2023): gradient signal-to-noise across two half-batches, per conv/linear layer. */
async function zicoScore(gpu: Gpu, net: ScorableNet, batch: ProxyBatch): Promise<number> {
  const half = Math.floor(batch.n / 2);
  if (half < 1) throw new RangeError('zico needs a batch of at least 2');
  const per = 3 * 32 * 32;
  const grads: Float32Array[][] = [];
  for (let h = 0; h < 2; h++) {
    const xs = gpu.upload(batch.x.subarray(h * half * per, (h + 1) * half * per), [half, 3, 32, 32]);
    const ys = gpu.upload(batch.y.subarray(h * half, (h + 1) * half), [half]);
    const tape = new Tape(gpu);
    try {
      const { logits } = net.forward(tape, tape.input(xs));
      tape.backward(tape.crossEntropy(logits, ys));
      grads.push(await Promise.all(weightParams(net).map((p) => p.grad!.read())));
    } finally {
      tape.dispose();
      net.zeroGrad();
      xs.dispose();
      ys.dispose();
    }
  }
  let score = 0;
  for (let l = 0; l < grads[0].length; l++) {
    const a = grads[0][l];
    const b = grads[1][l];
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const sd = Math.abs(a[i] - b[i]) / 2; // population std of two values
      if (sd > 0) sum += (Math.abs(a[i]) + Math.abs(b[i])) / 2 / sd;
    }
    if (sum > 0) score += Math.log(sum);
  }
  return score;
}

/** Zen-score (Lin et al. 2021) on a Gaussian-initialised copy of the network. */
async function zenScore(gpu: Gpu, factory: NetFactory, seed: number, n: number): Promise<number> {
  const rng = new Rng(seed ^ 0x5eed);
  const net = factory.build('gaussian', rng);
  const per = 3 * 32 * 32;
  const x = rng.normals(n * per);
  const eps = rng.normals(n * per);
  const xm = x.map((v, i) => v + 0.01 * eps[i]);
  const feats: Float32Array[] = [];
  let logBn = 0;
  try {
    for (const [k, data] of [x, xm].entries()) {
      const tape = new Tape(gpu, { noGrad: true, recordBn: k === 0 });
      const t = gpu.upload(data, [n, 3, 32, 32]);
      try {
        const { features } = net.forward(tape, tape.input(t));
        feats.push(await features.value.read());
        if (k === 0) {
          for (const bn of tape.bns) {
            const inv = await bn.invStd.read();
            let meanVar = 0;
            for (const v of inv) meanVar += 1 / (v * v) - 1e-5;
            logBn += Math.log(Math.sqrt(Math.max(meanVar / inv.length, 1e-30)));
          }
        }
      } finally {
        tape.dispose();
        t.dispose();
      }
    }
  } finally {
    net.dispose();
  }
  let diff = 0;
  for (let i = 0; i < feats[0].length; i++) diff += Math.abs(feats[0][i] - feats[1][i]);
  return Math.log(diff / n) + logBn;
}

