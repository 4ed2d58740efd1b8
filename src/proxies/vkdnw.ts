/**
 * VKDNW (Tybl & Neumann, CVPR 2025): the spread of the Fisher information's eigenvalues w.r.t. one
 * element of every parameter tensor (vkdnw-math.ts for the statistic). Its own copy of the network,
 * kaiming-normal initialised as the reference code does (with batch norm the identity the weight
 * scale sets how signals carry through depth, so PyTorch's default init would change the score).
 * The device part:
 * - one forward with batch norm in eval mode at initialisation (running mean 0, variance 1: the
 *   identity, up to the factor 1/sqrt(1 + 1e-5) per BN that we drop), so that images are
 *   independent and each image's gradient can be read from the batch's activation gradients;
 * - C backward passes on the same tape (retainGraph), pass r seeding image i's logits with row r
 *   of its factor L_i: the per-image gradient of theta_p is then row (r, i) of L J;
 * - the gradient of theta_p (element [0, 0, ...] of its tensor) per image: for a conv weight the
 *   dot of the output gradient's channel 0 with the input patch that element multiplies (a conv
 *   with a one-hot kernel cuts it out), for a BN scale/shift the dot with its input's channel 0 /
 *   the sum of the gradient's channel 0 (a 1x1 one-hot conv selects channel 0), for the classifier
 *   closed form on the host. Batched matmuls of [n, 1, HW] planes give the n dots at once.
 */
import type { Backend, Tensor } from '../backend/index.js';
import { Tape, type Var } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import { logRankSum } from './az-nas-math.js';
import { defineAggregator, definePass, defineProxyFamily } from './define.js';
import { symmetricEigenvaluesQl } from './linalg.js';
import { decileEntropy, fisherFromRows, softmaxCovFactors, vkdnwScore } from './vkdnw-math.js';

export interface VkdnwResult {
  /** Parameter tensors (the size of theta). */
  dim: number;
  /** Eigenvalues of the Fisher information, ascending. */
  eigenvalues: Float64Array;
}

/** A one-hot conv weight [1, cin, k, k] with 1 at [0, 0, 0, 0]. */
function oneHot(backend: Backend, cin: number, k: number): Tensor {
  const w = new Float32Array(cin * k * k);
  w[0] = 1;
  return backend.upload(w, [1, cin, k, k]);
}

/** How one theta element's per-image gradient is read each backward pass. */
type Reader =
  | { kind: 'dot'; plane: Tensor; grad: Var; hw: number } // sum over positions of plane * grad[:, 0]
  | { kind: 'sum'; grad: Var; hw: number } // sum over positions of grad[:, 0]
  | { kind: 'host'; values: (r: number, img: number) => number };

export const vkdnwPass = definePass<VkdnwResult>({
  name: 'vkdnw',
  order: 60,
  async run(ctx) {
    const { backend } = ctx;
    const n = ctx.batch.n;
    const net = ctx.factory.build('kaiming', new Rng(ctx.seed));
    const tape = new Tape(backend, { bnIdentity: true, recordParamUses: true, retainGraph: true, paramGrads: 'none' });
    const owned: Tensor[] = [];
    const selectors = new Map<number, Tensor>();
    const select0 = (t: Tensor): Tensor => {
      const c = t.shape[1];
      if (!selectors.has(c)) selectors.set(c, oneHot(backend, c, 1));
      const out = backend.ops.conv2d(t, selectors.get(c)!, { stride: 1, pad: 0 });
      owned.push(out);
      return out;
    };
    try {
      const { logits } = net.forward(tape, tape.input(ctx.x, true));
      const classes = logits.shape[1];
      const factors = softmaxCovFactors(await logits.value.read(), n, classes);
      const readers: Reader[] = [];
      for (const u of tape.paramUses) {
        if (u.kind === 'conv') {
          const [, cin, k] = u.weight.shape;
          const e = oneHot(backend, cin, k);
          owned.push(e);
          const plane = backend.ops.conv2d(u.input.value, e, u.conv);
          owned.push(plane);
          readers.push({ kind: 'dot', plane, grad: u.output, hw: plane.size / n });
        } else if (u.kind === 'bn') {
          const [, , h, w] = u.input.shape;
          if (u.gamma) readers.push({ kind: 'dot', plane: select0(u.input.value), grad: u.input, hw: h * w });
          if (u.beta) readers.push({ kind: 'sum', grad: u.input, hw: h * w });
        } else {
          const pooled = await u.input.value.read();
          const width = u.input.shape[1];
          // d logit_c / d W[0, 0] = [c = 0] * pooled[0]; d logit_c / d b[0] = [c = 0].
          readers.push({ kind: 'host', values: (r, i) => factors[i * classes * classes + r * classes] * pooled[i * width] });
          if (u.bias) readers.push({ kind: 'host', values: (r, i) => factors[i * classes * classes + r * classes] });
        }
      }
      const p = readers.length;
      const g = new Float64Array(classes * n * p);
      const seedData = new Float32Array(n * classes);
      for (let r = 0; r < classes; r++) {
        for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) seedData[i * classes + c] = factors[i * classes * classes + r * classes + c];
        const seed = backend.upload(seedData, [n, classes]);
        const pending: Tensor[] = [];
        try {
          tape.backward(logits, seed);
          const reads = readers.map((rd) => {
            if (rd.kind === 'host') return null;
            if (!rd.grad.grad) return null; // no gradient reached it: 0
            const g0 = backend.ops.conv2d(rd.grad.grad, selectors.get(rd.grad.shape[1]) ?? selectorFor(rd.grad.shape[1]), { stride: 1, pad: 0 });
            pending.push(g0);
            const out = rd.kind === 'sum' ? backend.ops.rowSums(g0, rd.hw) : backend.ops.matmul(rd.plane.view([n, 1, rd.hw]), g0.view([n, 1, rd.hw]), { transB: true });
            pending.push(out);
            return out.read();
          });
          const vals = await Promise.all(reads);
          vals.forEach((v, j) => {
            const rd = readers[j];
            for (let i = 0; i < n; i++) g[(r * n + i) * p + j] = rd.kind === 'host' ? rd.values(r, i) : v ? v[i] : 0;
          });
        } finally {
          pending.forEach((t) => t.dispose());
          seed.dispose();
          tape.resetGrads();
        }
      }
      return { dim: p, eigenvalues: symmetricEigenvaluesQl(fisherFromRows(g, classes * n, p, n), p) };
    } finally {
      owned.forEach((t) => t.dispose());
      selectors.forEach((t) => t.dispose());
      tape.dispose();
      net.dispose();
    }

    function selectorFor(c: number): Tensor {
      const t = oneHot(backend, c, 1);
      selectors.set(c, t);
      return t;
    }
  },
});

export const vkdnw = defineProxyFamily({
  members: {
    vkdnw: 'VKDNW: parameter tensors + entropy of the Fisher-information eigenvalue deciles / 10 (orders by tensors, then entropy)',
    vkdnw_entropy: 'VKDNW entropy of the normalised deciles of the Fisher-information eigenvalues (one element per tensor)',
  },
  pass: vkdnwPass,
  compute: async (r) => {
    const entropy = decileEntropy(r.eigenvalues);
    return { vkdnw: vkdnwScore(r.dim, entropy), vkdnw_entropy: entropy };
  },
});

/** VKDNW_agg (the authors' aggregation): log-rank sum of VKDNW, jacob_cov, AZ-NAS expressivity and trainability, and FLOPs. */
export const VKDNW_AGG_MEMBERS = ['vkdnw', 'jacob_cov', 'az_nas_expressivity', 'az_nas_trainability', 'az_nas_complexity'] as const;

export const vkdnwAggregate = defineAggregator({
  name: 'vkdnw_agg',
  description: 'VKDNW_agg: sum of log(rank/m) of vkdnw, jacob_cov, AZ-NAS expressivity, trainability and FLOPs',
  members: VKDNW_AGG_MEMBERS,
  aggregate: (rows) => logRankSum(VKDNW_AGG_MEMBERS.map((m) => rows.map((r) => r[m]))),
});
