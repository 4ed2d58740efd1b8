/**
 * One op's parity cases from its inputs (./parity.ts's Case), for parity-ops and parity-awkward:
 * the test files draw the inputs, in their own order, and add what these return. A tolerance left
 * out is the suite's default.
 */
import type { Backend } from '../../src/backend/index.js';
import type { OpName } from '../../src/kernels/ops.js';
import { OPS } from '../../src/kernels/ops.js';
import type {
  AdamOptions,
  BatchedAccumulateOptions,
  Pool2dParams,
  SgdManyOptions,
  SgdOptions,
} from '../../src/kernels/params.js';
import { Rng } from '../../src/util/rng.js';
import { type Arr, type Case, type Tol, withTensors } from './parity.js';

/** 1-D inputs, each of its own length. */
const vectors = (...vs: Arr[]): Array<[Arr, number[]]> => vs.map((v) => [v, [v.length]]);

/** A case with `tol` when one is given (else the suite's default). */
const withTol = (c: Case, tol?: Tol): Case => (tol ? { ...c, tol } : c);

/** ReLU and ReLU6, forward and backward, on x [shape] (dy the output gradient). */
export function activations(label: string, x: Arr, dy: Arr, shape: readonly number[], tol?: Tol): Array<[OpName, Case]> {
  return ([false, true] as const).flatMap((six): Array<[OpName, Case]> => {
    const fwd = six ? 'relu6' : 'relu';
    const bwd = six ? 'relu6Backward' : 'reluBackward';
    const [X, DY]: Array<[Arr, readonly number[]]> = [
      [x, shape],
      [dy, shape],
    ];
    const run = (be: Backend) => withTensors(be, [X], ([t]) => be.ops[fwd](t));
    const runBackward = (be: Backend) => withTensors(be, [DY, X], ([tdy, tx]) => be.ops[bwd](tdy, tx));
    return [
      [fwd, withTol({ label, run, ref: () => [OPS[fwd].reference(x)] }, tol)],
      [bwd, withTol({ label, run: runBackward, ref: () => [OPS[bwd].reference(dy, x)] }, tol)],
    ];
  });
}

/**
 * batchNormForward, batchNormForwardAdd (residual `res`) and batchNormBackward on x [shape]; no
 * gamma and beta: no affine. `eps` undefined: the ops' default.
 */
export function batchNorm(s: {
  label: string;
  x: Arr;
  shape: readonly number[];
  gamma: Arr | null;
  beta: Arr | null;
  dy: Arr;
  res: Arr;
  eps?: number;
  tol: Tol;
  backwardTol?: Tol;
}): Array<[OpName, Case]> {
  const { label, x, shape, gamma, beta, dy, res, eps, tol } = s;
  const C = [shape[1]];
  const affine: Array<[Arr, readonly number[]]> =
    gamma && beta
      ? [
          [gamma, C],
          [beta, C],
        ]
      : [];
  const fwd = () => OPS.batchNormForward.reference(x, shape, gamma, beta, eps);
  return [
    [
      'batchNormForward',
      {
        label,
        tol,
        run: (be) =>
          withTensors(be, [[x, shape], ...affine], ([tx, tg, tb]) => {
            const r = be.ops.batchNormForward(tx, tg ?? null, tb ?? null, eps);
            return [r.y, r.mean, r.invStd];
          }),
        ref: () => {
          const r = fwd();
          return [r.y, r.mean, r.invStd];
        },
      },
    ],
    [
      'batchNormForwardAdd',
      {
        label,
        tol,
        run: (be) =>
          withTensors(be, [[res, shape], [x, shape], ...affine], ([tr, tx, tg, tb]) => {
            const r = be.ops.batchNormForwardAdd(tx, tg ?? null, tb ?? null, tr, eps);
            return [r.y, r.mean, r.invStd];
          }),
        ref: () => {
          const r = OPS.batchNormForwardAdd.reference(x, shape, gamma, beta, res, eps);
          return [r.y, r.mean, r.invStd];
        },
      },
    ],
    [
      'batchNormBackward',
      {
        label,
        tol: s.backwardTol ?? tol,
        run: (be) => {
          const f = fwd();
          return withTensors(
            be,
            [[dy, shape], [x, shape], [f.mean, C], [f.invStd, C], ...affine.slice(0, 1)],
            ([tdy, tx, tm, ti, tg]) => {
              const r = be.ops.batchNormBackward(tdy, tx, tm, ti, tg ?? null);
              return [r.dx, r.dgamma, r.dbeta];
            },
          );
        },
        ref: () => {
          const f = fwd();
          const r = OPS.batchNormBackward.reference(dy, x, shape, f.mean, f.invStd, gamma);
          return [r.dx, r.dgamma, r.dbeta];
        },
      },
    ],
    [
      'batchNormRelu6Forward',
      {
        label,
        tol,
        run: (be) =>
          withTensors(be, [[x, shape], ...affine], ([tx, tg, tb]) => {
            const r = be.ops.batchNormRelu6Forward(tx, tg ?? null, tb ?? null, eps);
            return [r.z, r.mean, r.invStd];
          }),
        ref: () => {
          const r = OPS.batchNormRelu6Forward.reference(x, shape, gamma, beta, eps);
          return [r.z, r.mean, r.invStd];
        },
      },
    ],
    [
      'batchNormRelu6Backward',
      {
        label,
        tol: s.backwardTol ?? tol,
        run: (be) => {
          const f = fwd();
          return withTensors(
            be,
            [[dy, shape], [x, shape], [f.mean, C], [f.invStd, C], ...affine],
            ([tdy, tx, tm, ti, tg, tb]) => {
              const r = be.ops.batchNormRelu6Backward(tdy, tx, tm, ti, tg ?? null, tb ?? null);
              return [r.dx, r.dgamma, r.dbeta];
            },
          );
        },
        ref: () => {
          const f = fwd();
          const r = OPS.batchNormRelu6Backward.reference(dy, x, shape, f.mean, f.invStd, gamma, beta);
          return [r.dx, r.dgamma, r.dbeta];
        },
      },
    ],
  ];
}

/** avgPool2d's output shape (NCHW). */
export function poolOutShape(xs: readonly number[], p: Pool2dParams): number[] {
  const out = (size: number) => Math.floor((size + 2 * p.pad - p.kernel) / p.stride) + 1;
  return [xs[0], xs[1], out(xs[2]), out(xs[3])];
}

/** avgPool2d and its backward on x [xs] (dy [poolOutShape]), labelled by shape and parameters. */
export function avgPool(x: Arr, xs: readonly number[], dy: Arr, p: Pool2dParams): Array<[OpName, Case]> {
  const label = `[${xs}] k${p.kernel} s${p.stride} p${p.pad}${p.countIncludePad === false ? ' exclude pad' : ''}`;
  return [
    [
      'avgPool2d',
      {
        label,
        run: (be) => withTensors(be, [[x, xs]], ([t]) => be.ops.avgPool2d(t, p)),
        ref: () => [OPS.avgPool2d.reference(x, xs, p)],
      },
    ],
    [
      'avgPool2dBackward',
      {
        label,
        run: (be) => withTensors(be, [[dy, poolOutShape(xs, p)]], ([t]) => be.ops.avgPool2dBackward(t, xs, p)),
        ref: () => [OPS.avgPool2dBackward.reference(dy, xs, p)],
      },
    ],
  ];
}

/** globalAvgPool (within `tol`, when given) and its backward on x [xs]; dy is [N, C]. */
export function globalAvgPool(x: Arr, xs: readonly number[], dy: Arr, tol?: Tol): Array<[OpName, Case]> {
  const label = `[${xs}]`;
  return [
    [
      'globalAvgPool',
      withTol(
        {
          label,
          run: (be) => withTensors(be, [[x, xs]], ([t]) => be.ops.globalAvgPool(t)),
          ref: () => [OPS.globalAvgPool.reference(x, xs)],
        },
        tol,
      ),
    ],
    [
      'globalAvgPoolBackward',
      {
        label,
        run: (be) => withTensors(be, [[dy, [xs[0], xs[1]]]], ([t]) => be.ops.globalAvgPoolBackward(t, xs)),
        ref: () => [OPS.globalAvgPoolBackward.reference(dy, xs)],
      },
    ],
  ];
}

/** linear and linearBackward, x [N, In] by w [Out, In] (+ b [Out] unless null); dy is [N, Out]. */
export function linear(
  label: string,
  [N, In, Out]: readonly [number, number, number],
  t: { x: Arr; w: Arr; b: Arr | null; dy: Arr },
  tol?: Tol,
): Array<[OpName, Case]> {
  const { x, w, b, dy } = t;
  return [
    [
      'linear',
      withTol(
        {
          label,
          run: (be) =>
            withTensors(
              be,
              [[x, [N, In]], [w, [Out, In]], ...(b ? ([[b, [Out]]] as Array<[Arr, number[]]>) : [])],
              ([tx, tw, tb]) => be.ops.linear(tx, tw, tb ?? null),
            ),
          ref: () => [OPS.linear.reference(x, w, b, N, In, Out)],
        },
        tol,
      ),
    ],
    [
      'linearBackward',
      withTol(
        {
          label,
          run: (be) =>
            withTensors(
              be,
              [
                [dy, [N, Out]],
                [x, [N, In]],
                [w, [Out, In]],
              ],
              ([tdy, tx, tw]) => {
                const r = be.ops.linearBackward(tdy, tx, tw, b !== null);
                return [r.dx, r.dw, r.db];
              },
            ),
          ref: () => {
            const r = OPS.linearBackward.reference(dy, x, w, N, In, Out);
            return b ? [r.dx, r.dw, r.db] : [r.dx, r.dw];
          },
        },
        tol,
      ),
    ],
  ];
}

/** softmaxCrossEntropy of logits [N, K] against labels [N] (label smoothing `smoothing`): the loss and dlogits. */
export function softmaxCrossEntropy(N: number, K: number, logits: Arr, labels: Arr, tol?: Tol, smoothing = 0): Case {
  return withTol(
    {
      label: `N${N} K${K}${smoothing ? ` smoothing ${smoothing}` : ''}`,
      run: (be) =>
        withTensors(
          be,
          [
            [logits, [N, K]],
            [labels, [N]],
          ],
          ([tl, ty]) => {
            const r = be.ops.softmaxCrossEntropy(tl, ty, smoothing);
            return [r.loss, r.dlogits];
          },
        ),
      ref: () => {
        const r = OPS.softmaxCrossEntropy.reference(logits, labels, N, K, smoothing);
        return [[r.loss], r.dlogits];
      },
    },
    tol,
  );
}

/** correlationOffDiagInPlace of x [B, N, D] against `ref` (the correlations; the diagonal, which it leaves, set to 1). */
export function correlationOffDiag(x: Arr, [B, N, D]: readonly [number, number, number], ref: Arr, tol?: Tol): Case {
  const shape = [B, N, D];
  return withTol(
    {
      label: `[${shape}] (diagonal set to 1 here)`,
      run: async (be) => {
        const [c] = await withTensors(
          be,
          [
            [x, shape],
            [new Float32Array(B * N * N), [B, N, N]],
          ],
          ([t, out]) => (be.ops.correlationOffDiagInPlace(t, out), [out]),
        );
        return [Float32Array.from(c, (v, i) => ((i % (N * N)) % (N + 1) === 0 ? 1 : v))];
      },
      ref: () => [ref],
    },
    tol,
  );
}

/** accumulateAbsBatched into dst (flat) from src [layers, n, n]; the reference accumulates in f64. */
export function accumulateAbsBatched(label: string, dst: Arr, src: Arr, o: BatchedAccumulateOptions): Case {
  return {
    label,
    run: (be) =>
      withTensors(
        be,
        [
          [dst, [dst.length]],
          [src, [o.layerSlots.length, o.n, o.n]],
        ],
        ([d, s]) => (be.ops.accumulateAbsBatched(d, s, o), [d]),
      ),
    ref: () => {
      const d = Float64Array.from(dst);
      OPS.accumulateAbsBatched.reference(d, src, o);
      return [d];
    },
  };
}

/** gateDot(a, b) times `scale` into slot `at` of `slots` zeros. */
export function gateDot(label: string, a: Arr, b: Arr, o: { slots: number; at: number; scale: number; tol: Tol }): Case {
  return {
    label,
    tol: o.tol,
    run: (be) =>
      withTensors(
        be,
        vectors(a, b, new Float32Array(o.slots)),
        ([x, y, out]) => (be.ops.gateDot(x, y, out, o.at, o.scale), [out]),
      ),
    ref: () => [Array.from({ length: o.slots }, (_, i) => (i === o.at ? OPS.gateDot.reference(a, b, o.scale) : 0))],
  };
}

/** One SGD step of w with grad g and momentum buffer buf: the new w and buf (the reference in f64). */
export function sgdStep(label: string, w: Arr, g: Arr, buf: Arr, sgd: SgdOptions, tol?: Tol): Case {
  return withTol(
    {
      label,
      run: (be) => withTensors(be, vectors(w, g, buf), ([tw, tg, tb]) => (be.ops.sgdStep(tw, tg, tb, sgd), [tw, tb])),
      ref: () => {
        const rw = Float64Array.from(w);
        const rb = Float64Array.from(buf);
        OPS.sgdStep.reference(rw, g, rb, sgd);
        return [rw, rb];
      },
    },
    tol,
  );
}

/**
 * One sgdStepMany over tensors of the given sizes (random w, g, buf), each with its own lr and
 * weight decay: every new w and buf (the reference in f64).
 */
export function sgdStepMany(label: string, sizes: readonly number[], o: SgdManyOptions, seed: number, tol?: Tol): Case {
  const rng = new Rng(seed);
  const [ws, gs, bs] = [0, 1, 2].map((k) => sizes.map((n) => rng.normals(n, k === 2 ? 0.1 : 1)));
  return withTol(
    {
      label,
      run: (be) =>
        withTensors(
          be,
          [...ws, ...gs, ...bs].map((a): [Arr, number[]] => [a, [a.length]]),
          (ts) => {
            const k = sizes.length;
            const [tw, tb] = [ts.slice(0, k), ts.slice(2 * k)];
            be.ops.sgdStepMany(tw, ts.slice(k, 2 * k), tb, o);
            return [...tw, ...tb];
          },
        ),
      ref: () => {
        const rw = ws.map((a) => Float64Array.from(a));
        const rb = bs.map((a) => Float64Array.from(a));
        OPS.sgdStepMany.reference(rw, gs, rb, o);
        return [...rw, ...rb];
      },
    },
    tol,
  );
}

/** One Adam step of w with grad g and moments m, v: the new w, m and v (the reference in f64). */
export function adamStep(label: string, w: Arr, g: Arr, m: Arr, v: Arr, adam: AdamOptions, tol?: Tol): Case {
  return withTol(
    {
      label,
      run: (be) =>
        withTensors(be, vectors(w, g, m, v), ([tw, tg, tm, tv]) => (be.ops.adamStep(tw, tg, tm, tv, adam), [tw, tm, tv])),
      ref: () => {
        const [rw, rm, rv] = [w, m, v].map((z) => Float64Array.from(z));
        OPS.adamStep.reference(rw, g, rm, rv, adam);
        return [rw, rm, rv];
      },
    },
    tol,
  );
}

/** fitnessSoftmax of K logits. */
export function fitnessSoftmax(label: string, logits: Arr, tol?: Tol): Case {
  return withTol(
    {
      label,
      run: (be) => withTensors(be, vectors(logits), ([t]) => be.ops.fitnessSoftmax(t)),
      ref: () => [OPS.fitnessSoftmax.reference(logits)],
    },
    tol,
  );
}

/** fitnessGrad from the K probabilities and the candidates' gradient dots. */
export function fitnessGrad(label: string, probs: Arr, gDots: Arr, tol?: Tol): Case {
  return withTol(
    {
      label,
      run: (be) => withTensors(be, vectors(probs, gDots), ([p, gd]) => be.ops.fitnessGrad(p, gd)),
      ref: () => [OPS.fitnessGrad.reference(probs, gDots)],
    },
    tol,
  );
}

/** mixForward of K candidate outputs of n values each, weighted by probs. */
export function mixForward(label: string, outs: Arr[], probs: Arr): Case {
  const K = outs.length;
  return {
    label,
    run: (be) => withTensors(be, vectors(...outs, probs), (ts) => be.ops.mixForward(ts.slice(0, K), ts[K])),
    ref: () => [OPS.mixForward.reference(outs, probs)],
  };
}
