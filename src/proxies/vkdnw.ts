/**
 * VKDNW (Tybl & Neumann, CVPR 2025): the spread of the Fisher information's eigenvalues w.r.t. one
 * element of every parameter tensor (vkdnw-math.ts for the statistic). Its own copy of the network,
 * kaiming-normal initialised as the reference code does (with batch norm the identity the weight
 * scale sets how signals carry through depth, so PyTorch's default init would change the score).
 * The device part:
 * - one forward with batch norm in eval mode at initialisation (running mean 0, variance 1: the
 *   identity, up to the factor 1/sqrt(1 + 1e-5) per BN that we drop), so that images are
 *   independent and each image's gradient can be read from the batch's activation gradients;
 * - C - 1 backward passes on the same tape (retainGraph), pass c seeding every image's logit c:
 *   row c of each image's Jacobian J. The factor L of the softmax covariance has a zero last
 *   column (vkdnw-math.ts), so L J never needs J's last row; L J is formed on the host;
 * - per pass, firstElementGrad (one small dispatch per parameter tensor, all into one [P, n]
 *   tensor, one read) gives each image's gradient w.r.t. element [0, 0, ...] of every tensor: a
 *   conv weight's from its output gradient's channel 0 and input plane, a BN scale / shift's from
 *   its input (stride 1, pad 0; no input); the classifier's in closed form on the host.
 */
import type { Tensor } from '../backend/index.js';
import type { Conv2dParams } from '../kernels/params.js';
import { Tape, type Var } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import { definePass, defineProxyFamily } from './define.js';
import { logRankAggregator } from './rank-aggregate.js';
import { symmetricEigenvaluesQl } from './linalg.js';
import { decileEntropy, fisherFromRows, softmaxCovFactors, vkdnwScore } from './vkdnw-math.js';

export interface VkdnwResult {
  /** Parameter tensors (the size of theta). */
  dim: number;
  /** Eigenvalues of the Fisher information, ascending. */
  eigenvalues: Float64Array;
}

/** How one theta element's per-image Jacobian row is read each backward pass. */
type Reader =
  | { kind: 'device'; x: Tensor | null; grad: Var; conv: Required<Pick<Conv2dParams, 'stride' | 'pad'>> }
  | { kind: 'host'; values: (c: number, img: number) => number };

const POINTWISE = { stride: 1, pad: 0 };

export const vkdnwPass = definePass<VkdnwResult>({
  name: 'vkdnw',
  order: 60,
  async run(ctx) {
    const { backend } = ctx;
    const n = ctx.batch.n;
    const net = ctx.factory.build('kaiming', new Rng(ctx.seed));
    const tape = new Tape(backend, { bnIdentity: true, recordParamUses: true, retainGraph: true, paramGrads: 'none' });
    try {
      const { logits } = net.forward(tape, tape.input(ctx.x, true));
      const classes = logits.shape[1];
      const factors = softmaxCovFactors(await logits.value.read(), n, classes);
      const readers: Reader[] = [];
      for (const u of tape.paramUses) {
        if (u.kind === 'conv')
          readers.push({
            kind: 'device',
            x: u.input.value,
            grad: u.output,
            conv: { stride: u.conv.stride ?? 1, pad: u.conv.pad ?? 0 },
          });
        else if (u.kind === 'bn') {
          if (u.gamma) readers.push({ kind: 'device', x: u.input.value, grad: u.input, conv: POINTWISE });
          if (u.beta) readers.push({ kind: 'device', x: null, grad: u.input, conv: POINTWISE });
        } else {
          const pooled = await u.input.value.read();
          const width = u.input.shape[1];
          // d logit_c / d W[0, 0] = [c = 0] * pooled[0]; d logit_c / d b[0] = [c = 0].
          readers.push({ kind: 'host', values: (c, i) => (c === 0 ? pooled[i * width] : 0) });
          if (u.bias) readers.push({ kind: 'host', values: (c) => (c === 0 ? 1 : 0) });
        }
      }
      const p = readers.length;
      // The Jacobian rows J[c][i * p + j] = d logit_c(image i) / d theta_j, c < C - 1.
      const jac: Float32Array[] = [];
      const seedData = new Float32Array(n * classes);
      for (let c = 0; c < classes - 1; c++) {
        seedData.fill(0);
        for (let i = 0; i < n; i++) seedData[i * classes + c] = 1;
        const seed = backend.upload(seedData, [n, classes]);
        const rows = backend.zeros([p, n]);
        try {
          tape.backward(logits, seed);
          // No gradient reached a tensor (its row stays 0) or the row is the host's.
          readers.forEach(
            (rd, j) => rd.kind === 'device' && rd.grad.grad && backend.ops.firstElementGrad(rd.x, rd.grad.grad, rd.conv, rows, j),
          );
          const got = await rows.read();
          const byImage = new Float32Array(n * p);
          readers.forEach((rd, j) => {
            for (let i = 0; i < n; i++) byImage[i * p + j] = rd.kind === 'host' ? rd.values(c, i) : got[j * n + i];
          });
          jac.push(byImage);
        } finally {
          rows.dispose();
          seed.dispose();
          tape.resetGrads();
        }
      }
      return {
        dim: p,
        eigenvalues: symmetricEigenvaluesQl(fisherFromRows(factorRows(factors, jac, n, classes, p), classes * n, p, n), p),
      };
    } finally {
      tape.dispose();
      net.dispose();
    }
  },
});

/**
 * The rows of G = L J: G[(r n + i) p + j] = sum over c < C - 1 of L_i[r, c] J[c][i p + j], the
 * per-image gradients of pass r of the seeded-by-L formulation (L's column C - 1 is zero).
 */
export function factorRows(
  factors: Float64Array,
  jac: readonly ArrayLike<number>[],
  n: number,
  classes: number,
  p: number,
): Float64Array {
  const g = new Float64Array(classes * n * p);
  for (let r = 0; r < classes; r++) {
    for (let i = 0; i < n; i++) {
      const o = (r * n + i) * p;
      for (let c = 0; c < jac.length; c++) {
        const l = factors[i * classes * classes + r * classes + c];
        if (l === 0) continue;
        const row = jac[c];
        for (let j = 0; j < p; j++) g[o + j] += l * row[i * p + j];
      }
    }
  }
  return g;
}

export const vkdnw = defineProxyFamily({
  members: {
    vkdnw:
      'VKDNW: parameter tensors + entropy of the Fisher-information eigenvalue deciles / 10 (orders by tensors, then entropy)',
    vkdnw_entropy: 'VKDNW entropy of the normalised deciles of the Fisher-information eigenvalues (one element per tensor)',
  },
  // Merge tolerances: CPU vs lavapipe up to 3.4e-7 and 1.8e-3 (docs/reliability.md).
  mergeRtol: { vkdnw: 1e-5, vkdnw_entropy: 2e-2 },
  pass: vkdnwPass,
  compute: async (r) => {
    const entropy = decileEntropy(r.eigenvalues);
    return { vkdnw: vkdnwScore(r.dim, entropy), vkdnw_entropy: entropy };
  },
});

/** VKDNW_agg (the authors' aggregation): log-rank sum of VKDNW, jacob_cov, AZ-NAS expressivity and trainability, and FLOPs. */
export const VKDNW_AGG_MEMBERS = [
  'vkdnw',
  'jacob_cov',
  'az_nas_expressivity',
  'az_nas_trainability',
  'az_nas_complexity',
] as const;

export const vkdnwAggregate = logRankAggregator({
  name: 'vkdnw_agg',
  description: 'VKDNW_agg: sum of log(rank/m) of vkdnw, jacob_cov, AZ-NAS expressivity, trainability and FLOPs',
  members: VKDNW_AGG_MEMBERS,
});
