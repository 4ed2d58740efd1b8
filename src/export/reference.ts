/**
 * The TypeScript reference forward of an inference graph (graph.ts), NCHW f32 with f64 sums, and
 * BN calibration: with `calibrate`, every BN normalises with the statistics of the batch it sees
 * (mean and biased variance over N, H, W), exactly as wgnas' networks run BN, and stores them as
 * the BN's running statistics, so that the inference graph then computes, on that batch, what the
 * networks compute. Plain loops, sized for exporting networks, not for speed records.
 */
import type { Graph, Tensor } from './graph.js';

interface Value {
  shape: number[];
  data: Float32Array;
}

/** 1x1 stride-1 conv: a dot product over the input channels per (output channel, pixel). */
function pointwise(x: Value, w: Tensor): Value {
  const [N, C, H, W] = x.shape;
  const Co = w.shape[0];
  const HW = H * W;
  const y = new Float32Array(N * Co * HW);
  const xt = new Float32Array(HW * C);
  const wd = w.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) for (let p = 0; p < HW; p++) xt[p * C + c] = x.data[(n * C + c) * HW + p];
    for (let co = 0; co < Co; co++) {
      const wo = co * C;
      for (let p = 0; p < HW; p++) {
        let acc = 0;
        const xo = p * C;
        for (let c = 0; c < C; c++) acc += wd[wo + c] * xt[xo + c];
        y[(n * Co + co) * HW + p] = acc;
      }
    }
  }
  return { shape: [N, Co, H, W], data: y };
}

function conv(x: Value, w: Tensor, stride: number, pad: number, groups: number): Value {
  if (w.shape[2] === 1 && stride === 1 && pad === 0 && groups === 1) return pointwise(x, w);
  const [N, C, H, W] = x.shape;
  const [Co, Cpg, K] = w.shape;
  const OH = Math.floor((H + 2 * pad - K) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - K) / stride) + 1;
  const opg = Co / groups;
  const y = new Float32Array(N * Co * OH * OW);
  const acc = new Float64Array(OH * OW);
  const xd = x.data;
  const wd = w.data;
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      acc.fill(0);
      const g = Math.floor(co / opg);
      for (let cig = 0; cig < Cpg; cig++) {
        const xBase = (n * C + g * Cpg + cig) * H * W;
        for (let kh = 0; kh < K; kh++) {
          for (let kw = 0; kw < K; kw++) {
            const wv = wd[((co * Cpg + cig) * K + kh) * K + kw];
            if (wv === 0) continue;
            const owStart = Math.max(0, Math.ceil((pad - kw) / stride));
            const owEnd = Math.min(OW, Math.floor((W - 1 + pad - kw) / stride) + 1);
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * stride - pad + kh;
              if (ih < 0 || ih >= H) continue;
              const row = xBase + ih * W - pad + kw;
              const out = oh * OW;
              if (stride === 1) for (let ow = owStart; ow < owEnd; ow++) acc[out + ow] += wv * xd[row + ow];
              else for (let ow = owStart; ow < owEnd; ow++) acc[out + ow] += wv * xd[row + ow * stride];
            }
          }
        }
      }
      y.set(acc, (n * Co + co) * OH * OW);
    }
  }
  return { shape: [N, Co, OH, OW], data: y };
}

function batchNorm(
  x: Value,
  gamma: Tensor,
  beta: Tensor,
  mean: Tensor,
  variance: Tensor,
  eps: number,
  calibrate: boolean,
): Value {
  const [N, C] = x.shape;
  const HW = x.shape.length === 4 ? x.shape[2] * x.shape[3] : 1;
  const y = new Float32Array(x.data.length);
  for (let c = 0; c < C; c++) {
    let m = mean.data[c];
    let v = variance.data[c];
    if (calibrate) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) s += x.data[(n * C + c) * HW + i];
      m = s / (N * HW);
      let q = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) q += (x.data[(n * C + c) * HW + i] - m) ** 2;
      v = q / (N * HW);
      mean.data[c] = m;
      variance.data[c] = v;
    }
    const scale = gamma.data[c] / Math.sqrt(v + eps);
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        y[k] = (x.data[k] - m) * scale + beta.data[c];
      }
    }
  }
  return { shape: x.shape, data: y };
}

function avgPool(x: Value, k: number, stride: number, pad: number, countIncludePad: boolean): Value {
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * pad - k) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - k) / stride) + 1;
  const y = new Float32Array(N * C * OH * OW);
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let s = 0;
        let cnt = 0;
        for (let kh = 0; kh < k; kh++) {
          for (let kw = 0; kw < k; kw++) {
            const ih = oh * stride - pad + kh;
            const iw = ow * stride - pad + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            s += x.data[(p * H + ih) * W + iw];
            cnt++;
          }
        }
        y[(p * OH + oh) * OW + ow] = s / (countIncludePad ? k * k : cnt);
      }
    }
  }
  return { shape: [N, C, OH, OW], data: y };
}

/**
 * Runs the graph on `input` ([N, 3, H, W] NCHW) and returns the logits [N, classes]. With
 * `calibrate`, BN uses (and stores into the graph) the batch statistics.
 */
export function referenceForward(graph: Graph, input: Float32Array, { calibrate = false } = {}): Float32Array {
  const [C, H, W] = graph.inputShape;
  if (input.length % (C * H * W) !== 0)
    throw new RangeError(`reference forward: input of ${input.length} values is not [N, ${C}, ${H}, ${W}]`);
  const vals = new Map<string, Value>([['input', { shape: [input.length / (C * H * W), C, H, W], data: input }]]);
  const get = (name: string) => vals.get(name)!;
  const t = (name: string) => graph.tensors.get(name)!;
  // Values are dropped after their last use (a 224x224 network at batch 8 would not fit otherwise).
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of n.op === 'add' ? [n.a, n.b] : [n.x]) lastUse.set(v, i);
  });
  for (const [i, node] of graph.nodes.entries()) {
    let y: Value;
    switch (node.op) {
      case 'conv':
        y = conv(get(node.x), t(node.w), node.stride, node.pad, node.groups);
        break;
      case 'bn':
        y = batchNorm(get(node.x), t(node.gamma), t(node.beta), t(node.mean), t(node.var), node.eps, calibrate);
        break;
      case 'relu':
      case 'relu6': {
        const x = get(node.x);
        const hi = node.op === 'relu6' ? 6 : Infinity;
        y = { shape: x.shape, data: x.data.map((v) => Math.min(Math.max(v, 0), hi)) };
        break;
      }
      case 'add': {
        const a = get(node.a);
        const b = get(node.b).data;
        y = { shape: a.shape, data: a.data.map((v, i) => v + b[i]) };
        break;
      }
      case 'avgpool':
        y = avgPool(get(node.x), node.kernel, node.stride, node.pad, node.countIncludePad);
        break;
      case 'gap': {
        const x = get(node.x);
        const [N, Ch, h, w] = x.shape;
        const out = new Float32Array(N * Ch);
        for (let p = 0; p < N * Ch; p++) {
          let s = 0;
          for (let i = 0; i < h * w; i++) s += x.data[p * h * w + i];
          out[p] = s / (h * w);
        }
        y = { shape: [N, Ch], data: out };
        break;
      }
      case 'linear': {
        const x = get(node.x);
        const [N, In] = x.shape;
        const w = t(node.w);
        const b = t(node.b);
        const Out = w.shape[0];
        const out = new Float32Array(N * Out);
        for (let n = 0; n < N; n++) {
          for (let o = 0; o < Out; o++) {
            let s = b.data[o];
            for (let i = 0; i < In; i++) s += x.data[n * In + i] * w.data[o * In + i];
            out[n * Out + o] = s;
          }
        }
        y = { shape: [N, Out], data: out };
        break;
      }
      case 'zeros': {
        const x = get(node.x);
        y = { shape: x.shape, data: new Float32Array(x.data.length) };
        break;
      }
    }
    vals.set(node.y, y);
    for (const v of node.op === 'add' ? [node.a, node.b] : [node.x])
      if (lastUse.get(v) === i && v !== graph.output) vals.delete(v);
  }
  return get(graph.output).data;
}
