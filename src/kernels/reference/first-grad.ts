/** Reference and shape checks of first_grad.wgsl (VKDNW's per-sample first-element gradient), f64. */
import { ShapeError } from '../../gpu/errors.js';

export interface FirstGradParams {
  stride: number;
  pad: number;
}

export interface FirstGradDims {
  N: number;
  /** x's channels and plane (0 when there is no x). */
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  OH: number;
  OW: number;
}

interface Shaped {
  readonly shape: readonly number[];
  readonly size: number;
}

/**
 * Validates firstElementGrad's operands (x [N, Cin, H, W] or null, dy [N, Cout, OH, OW], out of at
 * least (row + 1) * N elements and not aliasing x or dy) and returns the dims.
 */
export function checkFirstElementGrad(
  x: Shaped | null,
  dy: Shaped,
  p: FirstGradParams,
  out: Shaped,
  row: number,
  aliased: boolean,
): FirstGradDims {
  if (dy.shape.length !== 4) throw new ShapeError(`firstElementGrad: dy must be [N, C, OH, OW], got [${dy.shape.join(', ')}]`);
  const [N, Cout, OH, OW] = dy.shape;
  if (x && (x.shape.length !== 4 || x.shape[0] !== N)) {
    throw new ShapeError(`firstElementGrad: x must be [${N}, C, H, W] like dy's batch, got [${x.shape.join(', ')}]`);
  }
  if (!Number.isInteger(p.stride) || p.stride < 1 || !Number.isInteger(p.pad) || p.pad < 0) {
    throw new RangeError(
      `firstElementGrad: stride must be a positive integer and pad a non-negative one, got ${p.stride} / ${p.pad}`,
    );
  }
  if (!Number.isInteger(row) || row < 0 || (row + 1) * N > out.size) {
    throw new RangeError(`firstElementGrad: row ${row} of ${N} values is outside out (${out.size} elements)`);
  }
  if (aliased) throw new ShapeError('firstElementGrad: out must not be x or dy');
  const [, Cin, H, W] = x ? x.shape : [N, 0, 0, 0];
  return { N, Cin, H, W, Cout, OH, OW };
}

/**
 * g[s] = sum over (oy, ox) of dy[s, 0, oy, ox] * x[s, 0, oy * stride - pad, ox * stride - pad]
 * (0 outside x's plane; x null: 1): per sample, the summand of the weight gradient of element
 * [0, 0, 0, 0] of a conv x -> dy (or of a BN scale with stride 1, pad 0; of a shift with no x).
 */
export function firstElementGradCpu(
  x: ArrayLike<number> | null,
  dy: ArrayLike<number>,
  d: FirstGradDims,
  p: FirstGradParams,
): Float32Array {
  const out = new Float32Array(d.N);
  const xs = d.Cin * d.H * d.W;
  const ys = d.Cout * d.OH * d.OW;
  for (let s = 0; s < d.N; s++) {
    let acc = 0;
    for (let oy = 0; oy < d.OH; oy++) {
      for (let ox = 0; ox < d.OW; ox++) {
        const g = dy[s * ys + oy * d.OW + ox];
        if (!x) {
          acc += g;
          continue;
        }
        const iy = oy * p.stride - p.pad;
        const ix = ox * p.stride - p.pad;
        if (iy >= 0 && iy < d.H && ix >= 0 && ix < d.W) acc += g * x[s * xs + iy * d.W + ix];
      }
    }
    out[s] = acc;
  }
  return out;
}
