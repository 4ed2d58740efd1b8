/** References of the conv2d kernels (forward, input and weight gradients, any grouping), f64 accumulation. */
import { type Conv2dParams, type ConvDims, convDims } from '../params.js';
import { reluBackwardCpu, reluCpu } from './activation.js';
import { f32Twin } from './f32.js';

/** Which product a tap accumulates, and into which array: y += x w, dx += dy w, dw += dy x. */
type Acc = 'y' | 'dx' | 'dw';

/**
 * Visits every (output, input, weight) index triple of the convolution and accumulates that tap's
 * product (`acc`) into `out`. One switch in the loop, not a callback per tap: `wgnas bench` times
 * these as the grouped/depthwise "cpu" baseline, and three closures through one call site made it
 * megamorphic (~2x slower on depthwise N8 96 16x16 k5).
 */
function accumulateTaps(d: ConvDims, acc: Acc, a: ArrayLike<number>, b: ArrayLike<number>, out: Float64Array): void {
  const cpg = d.Cin / d.groups;
  const opg = d.Cout / d.groups;
  for (let n = 0; n < d.N; n++) {
    for (let co = 0; co < d.Cout; co++) {
      const g = Math.floor(co / opg);
      for (let oh = 0; oh < d.OH; oh++) {
        for (let ow = 0; ow < d.OW; ow++) {
          const yi = ((n * d.Cout + co) * d.OH + oh) * d.OW + ow;
          for (let cig = 0; cig < cpg; cig++) {
            const ci = g * cpg + cig;
            for (let kh = 0; kh < d.KH; kh++) {
              const ih = oh * d.stride - d.pad + kh;
              if (ih < 0 || ih >= d.H) continue;
              for (let kw = 0; kw < d.KW; kw++) {
                const iw = ow * d.stride - d.pad + kw;
                if (iw < 0 || iw >= d.W) continue;
                const xi = ((n * d.Cin + ci) * d.H + ih) * d.W + iw;
                const wi = ((co * cpg + cig) * d.KH + kh) * d.KW + kw;
                if (acc === 'y') out[yi] += a[xi] * b[wi];
                else if (acc === 'dx') out[xi] += a[yi] * b[wi];
                else out[wi] += a[yi] * b[xi];
              }
            }
          }
        }
      }
    }
  }
}

export function conv2dF64(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float64Array {
  const d = convDims('conv2dCpu', xShape, wShape, p);
  const y = new Float64Array(d.N * d.Cout * d.OH * d.OW);
  accumulateTaps(d, 'y', x, w, y);
  return y;
}

export function conv2dBackwardInputF64(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  wShape: readonly number[],
  xShape: readonly number[],
  p: Conv2dParams,
): Float64Array {
  const d = convDims('conv2dBackwardInputCpu', xShape, wShape, p);
  const dx = new Float64Array(d.N * d.Cin * d.H * d.W);
  accumulateTaps(d, 'dx', dy, w, dx);
  return dx;
}

export function conv2dBackwardWeightF64(
  x: ArrayLike<number>,
  xShape: readonly number[],
  dy: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float64Array {
  const d = convDims('conv2dBackwardWeightCpu', xShape, wShape, p);
  const dw = new Float64Array(wShape[0] * wShape[1] * wShape[2] * wShape[3]);
  accumulateTaps(d, 'dw', dy, x, dw);
  return dw;
}

export const conv2dCpu = f32Twin(conv2dF64);
export const conv2dBackwardInputCpu = f32Twin(conv2dBackwardInputF64);
export const conv2dBackwardWeightCpu = f32Twin(conv2dBackwardWeightF64);

/** conv2d(relu(x), w): a ReLU-Conv block's forward as one op. */
export function reluConv2dCpu(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float32Array {
  return conv2dCpu(reluCpu(x), xShape, w, wShape, p);
}

/** The gradient at the ReLU's input x of conv2d(relu(x), w): the input gradient times (x > 0). */
export function reluConv2dBackwardInputCpu(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  wShape: readonly number[],
  x: ArrayLike<number>,
  xShape: readonly number[],
  p: Conv2dParams,
): Float32Array {
  return reluBackwardCpu(conv2dBackwardInputCpu(dy, w, wShape, xShape, p), x);
}

/** The weight gradient of conv2d(relu(x), w). */
export function reluConv2dBackwardWeightCpu(
  x: ArrayLike<number>,
  xShape: readonly number[],
  dy: ArrayLike<number>,
  wShape: readonly number[],
  p: Conv2dParams,
): Float32Array {
  return conv2dBackwardWeightCpu(reluCpu(x), xShape, dy, wShape, p);
}
