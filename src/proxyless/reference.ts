/**
 * f64 CPU reference of the supernet (tests only): the same layers as the WGSL path, with
 * continuous gates, so gate and weight gradients can be checked by central finite differences.
 * BN is the training-mode (batch statistics, biased variance) one the tape uses.
 */
import type { BlockPosition } from '../latency/space.js';
import { type MobileNetLayout, layoutSpace } from '../mobilenet/layout.js';

export interface Tensor64 {
  data: Float64Array;
  shape: number[];
}

export function conv2dRef(x: Tensor64, w: Tensor64, stride: number, pad: number, groups = 1): Tensor64 {
  const [N, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  if (Cg * groups !== C || O % groups !== 0) throw new Error(`conv2dRef: channels ${C}, weight [${w.shape}], groups ${groups}`);
  const OH = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
  const out = new Float64Array(N * O * OH * OW);
  const opg = O / groups;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / opg);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = 0;
          for (let c = 0; c < Cg; c++) {
            const ci = g * Cg + c;
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * stride - pad + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * stride - pad + kw;
                if (iw < 0 || iw >= W) continue;
                s += x.data[((n * C + ci) * H + ih) * W + iw] * w.data[((o * Cg + c) * KH + kh) * KW + kw];
              }
            }
          }
          out[((n * O + o) * OH + oh) * OW + ow] = s;
        }
      }
    }
  }
  return { data: out, shape: [N, O, OH, OW] };
}

export function batchNormRef(x: Tensor64, gamma: Float64Array, beta: Float64Array, eps: number): Tensor64 {
  const [N, C, H, W] = x.shape;
  const hw = H * W;
  const out = new Float64Array(x.data.length);
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < hw; i++) mean += x.data[(n * C + c) * hw + i];
    mean /= N * hw;
    let v = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < hw; i++) v += (x.data[(n * C + c) * hw + i] - mean) ** 2;
    v /= N * hw;
    const inv = 1 / Math.sqrt(v + eps);
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < hw; i++) {
        const k = (n * C + c) * hw + i;
        out[k] = (x.data[k] - mean) * inv * gamma[c] + beta[c];
      }
    }
  }
  return { data: out, shape: x.shape.slice() };
}

export const relu6Ref = (x: Tensor64): Tensor64 => ({
  data: x.data.map((v) => Math.min(6, Math.max(0, v))),
  shape: x.shape.slice(),
});

/** Weights by parameter name (the GPU network's names). */
export type WeightMap = Map<string, Tensor64>;

function get(wm: WeightMap, name: string): Tensor64 {
  const t = wm.get(name);
  if (!t) throw new Error(`reference: no weight '${name}'`);
  return t;
}

function convBn(
  x: Tensor64,
  wm: WeightMap,
  name: string,
  stride: number,
  pad: number,
  groups: number,
  act: boolean,
  eps: number,
): Tensor64 {
  const c = conv2dRef(x, get(wm, name), stride, pad, groups);
  const b = batchNormRef(c, get(wm, `${name}.bn.gamma`).data, get(wm, `${name}.bn.beta`).data, eps);
  return act ? relu6Ref(b) : b;
}

/** Parameter names of an MBConv cell's nodes (CellModule naming): expand (null for expand 1), depthwise, project. */
export function mbconvParamNames(
  prefix: string,
  kernel: number,
  expand: number,
): { expand: string | null; dw: string; project: string } {
  const n = expand === 1 ? 0 : 1;
  return {
    expand: expand === 1 ? null : `${prefix}.n0.pw${expand}`,
    dw: `${prefix}.n${n}.dw${kernel}`,
    project: `${prefix}.n${n + 1}.pwl`,
  };
}

/** One MBConv candidate (no residual): [1×1 expand + BN + ReLU6] → k×k depthwise + BN + ReLU6 → 1×1 project + BN. */
export function mbconvRef(
  x: Tensor64,
  wm: WeightMap,
  prefix: string,
  kernel: number,
  expand: number,
  stride: number,
  eps: number,
): Tensor64 {
  const names = mbconvParamNames(prefix, kernel, expand);
  let h = x;
  if (names.expand) h = convBn(h, wm, names.expand, 1, 0, 1, true, eps);
  h = convBn(h, wm, names.dw, stride, (kernel - 1) / 2, h.shape[1], true, eps);
  return convBn(h, wm, names.project, 1, 0, 1, false, eps);
}

/**
 * Mean cross-entropy of the supernet with continuous gates: block b outputs
 * [x +] Σ_j gates[b][j]·o_j(x) over the candidates with a non-zero gate or listed in `evaluate`.
 */
export function supernetLossRef(
  layout: MobileNetLayout,
  wm: WeightMap,
  x: Tensor64,
  labels: ArrayLike<number>,
  gates: number[][],
  eps: number,
): number {
  const space = layoutSpace(layout);
  let h = convBn(x, wm, 'stem.conv', layout.stemStride, 1, 1, true, eps);
  h = mbconvRef(h, wm, 'first', 3, 1, 1, eps);
  space.positions.slice(1).forEach((pos: BlockPosition, b) => {
    const idskip = pos.stride === 1 && pos.inC === pos.outC;
    let y: Float64Array | null = idskip ? h.data.slice() : null;
    let shape = idskip ? h.shape.slice() : [];
    pos.candidates.forEach((c, j) => {
      const g = gates[b][j];
      if (g === 0 || c === 'zero') return;
      const o = mbconvRef(h, wm, `b${b}.c${j}`, c.kernel, c.expand, c.stride, eps);
      if (!y) {
        y = new Float64Array(o.data.length);
        shape = o.shape;
      }
      for (let i = 0; i < y.length; i++) y[i] += g * o.data[i];
    });
    if (!y) throw new Error(`reference: block ${b} has no active path`);
    h = { data: y, shape };
  });
  h = convBn(h, wm, 'mix.conv', 1, 0, 1, true, eps);
  const [N, C, H, W] = h.shape;
  const fcW = get(wm, 'classifier.w');
  const fcB = get(wm, 'classifier.b');
  const K = fcW.shape[0];
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const feat = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let i = 0; i < H * W; i++) s += h.data[(n * C + c) * H * W + i];
      feat[c] = s / (H * W);
    }
    const logits = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      let s = fcB.data[k];
      for (let c = 0; c < C; c++) s += fcW.data[k * C + c] * feat[c];
      logits[k] = s;
    }
    const mx = Math.max(...logits);
    const lse = mx + Math.log(logits.reduce((a, v) => a + Math.exp(v - mx), 0));
    loss += lse - logits[labels[n]];
  }
  return loss / N;
}
