/** The f64 reference of the WRCor family from host copies of a network's ReLU records. */
import { correlationCpu } from '../../src/kernels/correlation.js';
import type { WrcorScores } from '../../src/proxies/correlation-proxies.js';
import { logAbsDet } from '../../src/proxies/linalg.js';

/** One ReLU record on the host: its [n, d] pre-activations and gradient (absent: none reached it). */
export interface HostRelu {
  d: number;
  block: number;
  module: number;
  a: Float32Array;
  g?: Float32Array;
}

/** Whether one of the n rows of x ([n, d]) has all its d values equal. */
export function constantRow(x: Float32Array, n: number, d: number): boolean {
  for (let i = 0; i < n; i++) if (x.subarray(i * d, (i + 1) * d).every((v) => v === x[i * d])) return true;
  return false;
}

/**
 * The six WRCor matrices from correlationCpu (weighted 2^module, unweighted, weighted 2^block: the
 * stage), a matrix with a constant row skipped (NaN in np.corrcoef), each term summed in f64.
 */
export function wrcorReference(host: readonly HostRelu[], n: number): WrcorScores {
  const nn = n * n;
  const [act, grad, actU, gradU, actS, gradS] = [0, 1, 2, 3, 4, 5].map(() => new Float64Array(nn));
  const add = (x: Float32Array, h: HostRelu, k: Float64Array, kU: Float64Array, kS: Float64Array) => {
    if (constantRow(x, n, h.d)) return;
    const c = correlationCpu(x, 1, n, h.d);
    for (let i = 0; i < nn; i++) {
      k[i] += 2 ** h.module * Math.abs(c[i]);
      kU[i] += Math.abs(c[i]);
      kS[i] += 2 ** h.block * Math.abs(c[i]);
    }
  };
  for (const h of host) {
    add(h.a, h, act, actU, actS);
    if (h.g) add(h.g, h, grad, gradU, gradS);
  }
  const sum = (x: Float64Array, y: Float64Array) => x.map((v, i) => v + y[i]);
  return {
    wrcor: logAbsDet(sum(act, grad), n),
    wrcor_act: logAbsDet(act, n),
    wrcor_grad: logAbsDet(grad, n),
    wrcor_unweighted: logAbsDet(sum(actU, gradU), n),
    wrcor_stage: logAbsDet(sum(actS, gradS), n),
  };
}
