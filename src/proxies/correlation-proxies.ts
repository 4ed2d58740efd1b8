/**
 * Proxies built from per-ReLU N x N matrices over the batch, all computed on the GPU and summed
 * in place so only the final N x N matrices come back to the CPU.
 *
 * WRCor: K = sum over ReLUs r of 2^block(r) * (|corr(pre-activations_r)| + |corr(dL/dpre-activations_r)|),
 * score = log|det K|. Ablations: activation-only, gradient-only, and unweighted (all weights 1).
 * NASWOT: K = sum over ReLUs of (c c^T + (1-c)(1-c)^T) for the binary codes c = [x > 0]; score log|det K|.
 */
import type { Gpu } from '../gpu/gpu.js';
import { correlation } from '../kernels/correlation.js';
import { matmul } from '../kernels/matmul.js';
import { accumulateAbs, signCodes } from '../kernels/proxy-ops.js';
import type { ReluRecord } from '../nn/tape.js';
import { logAbsDet } from './linalg.js';

export interface WrcorScores {
  wrcor: number;
  wrcor_act: number;
  wrcor_grad: number;
  wrcor_unweighted: number;
}

/** The WRCor family from ReLU records (run the tape's backward first so they carry gradInput). */
export async function wrcorScores(gpu: Gpu, relus: readonly ReluRecord[], n: number): Promise<WrcorScores> {
  const kAct = gpu.zeros([n, n]);
  const kGrad = gpu.zeros([n, n]);
  const kActU = gpu.zeros([n, n]);
  const kGradU = gpu.zeros([n, n]);
  for (const r of relus) {
    const d = r.input.size / n;
    const w = 2 ** r.block;
    const ca = correlation(gpu, r.input.view([n, d]));
    accumulateAbs(gpu, kAct, ca, w);
    accumulateAbs(gpu, kActU, ca, 1);
    ca.dispose();
    // A ReLU on a dead-end node (its output never reaches the loss) gets no gradient: it carries
    // no gradient information, so only its activation term counts.
    if (!r.gradInput) continue;
    const cg = correlation(gpu, r.gradInput.view([n, d]));
    accumulateAbs(gpu, kGrad, cg, w);
    accumulateAbs(gpu, kGradU, cg, 1);
    cg.dispose();
  }
  const [a, g, au, gu] = await Promise.all([kAct.read(), kGrad.read(), kActU.read(), kGradU.read()]);
  for (const t of [kAct, kGrad, kActU, kGradU]) t.dispose();
  const sum = (x: Float32Array, y: Float32Array) => x.map((v, i) => v + y[i]);
  return {
    wrcor: logAbsDet(sum(a, g), n),
    wrcor_act: logAbsDet(a, n),
    wrcor_grad: logAbsDet(g, n),
    wrcor_unweighted: logAbsDet(sum(au, gu), n),
  };
}

/** NASWOT (Mellor et al. 2021) from ReLU pre-activations. */
export async function naswotScore(gpu: Gpu, relus: readonly ReluRecord[], n: number): Promise<number> {
  const k = gpu.zeros([n, n]);
  let totalD = 0;
  for (const r of relus) {
    const d = r.input.size / n;
    totalD += d;
    const s = signCodes(gpu, r.input.view([n, d]));
    // s s^T = (#agree - #disagree) = D - 2*Hamming; the kernel K = D - Hamming = (D + s s^T) / 2.
    matmul(gpu, s, s, { transB: true, alpha: 0.5, beta: 1, out: k });
    s.dispose();
  }
  const km = await k.read();
  k.dispose();
  const full = Float64Array.from(km, (v) => v + totalD / 2);
  return logAbsDet(full, n);
}
