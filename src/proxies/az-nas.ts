/**
 * AZ-NAS (Lee & Ham, CVPR 2024): four zero-cost components and their non-linear rank aggregation.
 * The network is read as a chain of blocks (ScorableNet.forwardBlock: NAS-Bench-201's stem, its 15
 * cells and 2 reduction blocks), every block's output feature map taken on the batch in train-mode
 * batch norm, as the reference does. The math on the host is in az-nas-math.ts; this file drives
 * the device:
 * - each feature map [N, C, H, W] becomes its channel Gram sum_n F_n F_n^T (one batched matmul and
 *   a slice sum) and its channel sums: expressivity and progressivity;
 * - each block runs again on its own tape from the previous block's output; the backward of a
 *   Rademacher probe g_out gives g_in = J^T g_out, and E[g_in g_out^T] (after a pixel-unshuffle of
 *   g_in where the block halves the resolution) gives trainability;
 * - complexity is the network's FLOPs.
 */
import type { Backend, Tensor } from '../backend/index.js';
import { Tape, type Var } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import {
  blockTrainability,
  covarianceEntropy,
  expressivityProgressivity,
  largestSingularValue,
  meanTrainability,
} from './az-nas-math.js';
import { definePass, defineProxyFamily, type NetContext } from './define.js';
import { logRankAggregator } from './rank-aggregate.js';

export interface AzNasResult {
  /** Per-block channel-covariance entropies, in block order. */
  entropies: number[];
  /** Per-block trainability, blocks 1..B-1 (block 0, the stem, has no input feature map). */
  trainability: number[];
}

/** Channel Gram sum and channel sums of a feature map [N, C, H, W] -> covariance entropy. */
export async function featureEntropy(backend: Backend, f: Tensor): Promise<number> {
  const [n, c, h, w] = f.shape;
  const hw = h * w;
  const rows = f.view([n, c, hw]);
  const grams = backend.ops.matmul(rows, rows, { transB: true });
  const gram = backend.ops.sumSlices(grams, n, [c, c]);
  const sums = backend.ops.rowSums(f, hw);
  grams.dispose();
  try {
    const [g, s] = await Promise.all([gram.read(), sums.read()]);
    const channelSums = new Float64Array(c);
    for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) channelSums[k] += s[i * c + k];
    return covarianceEntropy(g, channelSums, n * hw);
  } finally {
    gram.dispose();
    sums.dispose();
  }
}

/** The conv weight that is PyTorch's PixelUnshuffle(2): channel c*4 + dy*2 + dx takes pixel (2y+dy, 2x+dx) of channel c. */
export function pixelUnshuffleWeight(channels: number): Float32Array {
  const w = new Float32Array(channels * 4 * channels * 4);
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < 4; k++) w[(c * 4 + k) * channels * 4 + c * 4 + k] = 1; // [(c*4+k), c, dy, dx] with k = dy*2+dx
  }
  return w;
}

/** E[g_in g_out^T] over batch and positions, its largest singular value -> the block's score. */
export async function probeScore(backend: Backend, gIn: Tensor | null, gOut: Tensor): Promise<number> {
  const [n, co, ho, wo] = gOut.shape;
  if (!gIn) return blockTrainability(0); // the block's output does not depend on its input: J = 0
  const owned: Tensor[] = [];
  try {
    if (gIn.shape.every((d, i) => d === gOut.shape[i])) {
      const diff = backend.empty(gIn.shape);
      owned.push(diff);
      backend.copy(gIn, diff);
      backend.ops.axpy(diff, gOut, -1);
      const ss = backend.ops.sumSquares(diff);
      owned.push(ss);
      if ((await ss.read())[0] === 0) return -Infinity; // an identity block (the reference's -inf)
    }
    let g = gIn;
    if (gIn.shape[2] !== ho) {
      const ci = gIn.shape[1];
      if (gIn.shape[2] !== 2 * ho || gIn.shape[3] !== 2 * wo)
        throw new RangeError(`az_nas: block maps ${gIn.shape[2]}px to ${ho}px; only /2 is handled`);
      const w = backend.upload(pixelUnshuffleWeight(ci), [4 * ci, ci, 2, 2]);
      owned.push(w);
      g = backend.ops.conv2d(gIn, w, { stride: 2, pad: 0 });
      owned.push(g);
    }
    const ci = g.shape[1];
    const prods = backend.ops.matmul(g.view([n, ci, ho * wo]), gOut.view([n, co, ho * wo]), { transB: true });
    owned.push(prods);
    const mat = backend.ops.sumSlices(prods, n, [ci, co], 1 / (n * ho * wo));
    owned.push(mat);
    return blockTrainability(largestSingularValue(await mat.read(), ci, co));
  } finally {
    owned.forEach((t) => t.dispose());
  }
}

/** g_in = J_i^T g_out for block i on its own tape, g_out Rademacher from rng. */
async function blockProbe(ctx: NetContext, i: number, input: Tensor, rng: Rng): Promise<number> {
  const { backend, net } = ctx;
  const tape = new Tape(backend, { paramGrads: 'none' });
  let gOut: Tensor | null = null;
  try {
    const fin = tape.input(input, true);
    const fout = net.forwardBlock!(tape, i, fin);
    const signs = new Float32Array(fout.value.size);
    for (let k = 0; k < signs.length; k++) signs[k] = rng.next() < 0.5 ? -1 : 1;
    gOut = backend.upload(signs, fout.shape);
    tape.backward(fout, gOut);
    return await probeScore(backend, fin.grad, gOut);
  } finally {
    tape.dispose();
    gOut?.dispose();
  }
}

const azNasPass = definePass<AzNasResult>({
  name: 'az_nas',
  order: 45,
  async run(ctx) {
    const { backend, net } = ctx;
    if (!net.forwardBlock || !net.blockCount) throw new Error('az_nas needs a network made of blocks (ScorableNet.forwardBlock)');
    const tape = new Tape(backend, { noGrad: true });
    try {
      const feats: Var[] = [];
      let cur: Var = tape.input(ctx.x);
      for (let i = 0; i < net.blockCount; i++) feats.push((cur = net.forwardBlock(tape, i, cur)));
      const entropies = await Promise.all(feats.map((f) => featureEntropy(backend, f.value)));
      const rng = new Rng(ctx.seed + 0x5a7);
      const trainability: number[] = [];
      // Last block first, as the reference draws its probes.
      for (let i = net.blockCount - 1; i >= 1; i--) trainability.push(await blockProbe(ctx, i, feats[i - 1].value, rng));
      return { entropies, trainability };
    } finally {
      tape.dispose();
      net.zeroGrad();
    }
  },
});

export const azNas = defineProxyFamily({
  members: {
    az_nas_expressivity: 'AZ-NAS expressivity: sum over blocks of the entropy of the channel-covariance eigenvalues',
    az_nas_progressivity: 'AZ-NAS progressivity: smallest block-to-block increase of that entropy',
    az_nas_trainability:
      'AZ-NAS trainability: mean over blocks of -s - 1/s + 2, s = spectral norm of the block Jacobian (probe estimate)',
    az_nas_complexity: 'AZ-NAS complexity: FLOPs of the network (millions)',
  },
  // Merge tolerances, about 10x the most measured between the CPU backend and lavapipe (docs/reliability.md);
  // complexity is a count.
  mergeRtol: { az_nas_expressivity: 1e-5, az_nas_progressivity: 5e-5, az_nas_trainability: 5e-3, az_nas_complexity: 1e-9 },
  pass: azNasPass,
  compute: async (r, ctx) => ({
    ...(({ expressivity, progressivity }) => ({ az_nas_expressivity: expressivity, az_nas_progressivity: progressivity }))(
      expressivityProgressivity(r.entropies),
    ),
    az_nas_trainability: meanTrainability(r.trainability),
    az_nas_complexity: ctx.factory.flopsM,
  }),
});

export const AZ_NAS_MEMBERS = [
  'az_nas_expressivity',
  'az_nas_progressivity',
  'az_nas_trainability',
  'az_nas_complexity',
] as const;

export const azNasAggregate = logRankAggregator({
  name: 'az_nas',
  description: 'AZ-NAS: sum of log(rank/m) of its four components over the scored population',
  members: AZ_NAS_MEMBERS,
});
