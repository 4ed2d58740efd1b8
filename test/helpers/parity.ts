/**
 * The harness of the backend parity tests (parity-ops, parity-awkward): a case runs an op on one
 * backend and returns what it read back, to compare with the op's TypeScript reference.
 */
import { expect } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { type OpName, OPS } from '../../src/kernels/ops.js';
import type { AdamOptions, BatchedAccumulateOptions, Conv2dParams, Pool2dParams, SgdOptions } from '../../src/kernels/params.js';
import { expectClose } from './gpu.js';

export type Arr = ArrayLike<number>;
export interface Tol {
  atol: number;
  rtol: number;
}
export interface Case {
  label: string;
  /** Runs the op on `be`; returns the values to compare (read back), in the order of ref(). */
  run(be: Backend): Promise<Arr[]>;
  ref(): Arr[];
  tol?: Tol;
}

export const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
export const F = (a: Arr) => Float32Array.from(a);

/** Uploads, runs, reads every output, disposes everything it made. */
export async function withTensors(
  be: Backend,
  inputs: Array<[Arr, readonly number[]]>,
  body: (ts: Tensor[]) => Array<Tensor | null> | Tensor,
): Promise<Arr[]> {
  const ts = inputs.map(([d, s]) => be.upload(F(d), s));
  try {
    const out = body(ts);
    const outs = (Array.isArray(out) ? out : [out]).filter((t): t is Tensor => t !== null);
    const vals = await Promise.all(outs.map((t) => t.read()));
    for (const t of outs) if (!ts.includes(t)) t.dispose();
    return vals;
  } finally {
    for (const t of ts) t.dispose();
  }
}

export type ConvOp =
  | 'conv2d'
  | 'conv2dBackwardInput'
  | 'conv2dBackwardWeight'
  | 'reluConv2d'
  | 'reluConv2dBackwardInput'
  | 'reluConv2dBackwardWeight';

/** A convolution's output shape (NCHW). */
export function convOutShape(xs: readonly number[], ws: readonly number[], p: Conv2dParams): number[] {
  const out = (size: number, k: number) => Math.floor((size + 2 * p.pad - k) / p.stride) + 1;
  return [xs[0], ws[0], out(xs[2], ws[2]), out(xs[3], ws[3])];
}

/**
 * One shape's cases for the convolution ops named, each against its reference: x [xs] and w [ws]
 * in, dy the output gradient; the ReLU ops read `reluX` (default x) as the ReLU's input.
 */
export function convCases(
  ops: readonly ConvOp[],
  s: { label: string; tol?: Tol; x: Arr; xs: number[]; w: Arr; ws: number[]; dy: Arr; p: Conv2dParams; reluX?: Arr },
): Array<[ConvOp, Case]> {
  const { label, xs, w, ws, dy, p } = s;
  const yShape = convOutShape(xs, ws, p);
  const tol = s.tol ? { tol: s.tol } : {};
  return ops.map((op): [ConvOp, Case] => {
    const x = op.startsWith('relu') ? (s.reluX ?? s.x) : s.x;
    const c = (run: Case['run'], ref: Case['ref']): [ConvOp, Case] => [op, { label, ...tol, run, ref }];
    switch (op) {
      case 'conv2d':
      case 'reluConv2d':
        return c(
          (be) =>
            withTensors(
              be,
              [
                [x, xs],
                [w, ws],
              ],
              ([tx, tw]) => be.ops[op](tx, tw, p),
            ),
          () => [OPS[op].reference(x, xs, w, ws, p)],
        );
      case 'conv2dBackwardInput':
        return c(
          (be) =>
            withTensors(
              be,
              [
                [dy, yShape],
                [w, ws],
              ],
              ([tdy, tw]) => be.ops.conv2dBackwardInput(tdy, tw, xs, p),
            ),
          () => [OPS.conv2dBackwardInput.reference(dy, w, ws, xs, p)],
        );
      case 'reluConv2dBackwardInput':
        return c(
          (be) =>
            withTensors(
              be,
              [
                [dy, yShape],
                [w, ws],
                [x, xs],
              ],
              ([tdy, tw, tx]) => be.ops.reluConv2dBackwardInput(tdy, tw, tx, p),
            ),
          () => [OPS.reluConv2dBackwardInput.reference(dy, w, ws, x, xs, p)],
        );
      case 'conv2dBackwardWeight':
      case 'reluConv2dBackwardWeight':
        return c(
          (be) =>
            withTensors(
              be,
              [
                [x, xs],
                [dy, yShape],
              ],
              ([tx, tdy]) => be.ops[op](tx, tdy, ws, p),
            ),
          () => [OPS[op].reference(x, xs, dy, ws, p)],
        );
    }
  });
}

/** Every convolution op, forward and both gradients, plain and after a ReLU. */
export const CONV_OPS: readonly ConvOp[] = [
  'conv2d',
  'conv2dBackwardInput',
  'conv2dBackwardWeight',
  'reluConv2d',
  'reluConv2dBackwardInput',
  'reluConv2dBackwardWeight',
];

// ---- one op's case from its inputs: the parity files draw the inputs, in their own order ------------------------

/** A case with `tol` when one is given (else the suite's default). */
const withTol = (c: Case, tol?: Tol): Case => (tol ? { ...c, tol } : c);

/** ReLU and ReLU6, forward and backward, on x [shape] (dy the output gradient). */
export function activationCases(label: string, x: Arr, dy: Arr, shape: readonly number[], tol?: Tol): Array<[OpName, Case]> {
  return ([false, true] as const).flatMap((six): Array<[OpName, Case]> => {
    const fwd = six ? 'relu6' : 'relu';
    const bwd = six ? 'relu6Backward' : 'reluBackward';
    return [
      [
        fwd,
        withTol(
          { label, run: (be) => withTensors(be, [[x, shape]], ([t]) => be.ops[fwd](t)), ref: () => [OPS[fwd].reference(x)] },
          tol,
        ),
      ],
      [
        bwd,
        withTol(
          {
            label,
            run: (be) =>
              withTensors(
                be,
                [
                  [dy, shape],
                  [x, shape],
                ],
                ([tdy, tx]) => be.ops[bwd](tdy, tx),
              ),
            ref: () => [OPS[bwd].reference(dy, x)],
          },
          tol,
        ),
      ],
    ];
  });
}

/**
 * batchNormForward, batchNormForwardAdd (residual `res`) and batchNormBackward on x [shape]; no
 * gamma and beta: no affine. `eps` undefined: the ops' default.
 */
export function batchNormCases(s: {
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
  ];
}

/** avgPool2d's output shape (NCHW). */
export function poolOutShape(xs: readonly number[], p: Pool2dParams): number[] {
  const out = (size: number) => Math.floor((size + 2 * p.pad - p.kernel) / p.stride) + 1;
  return [xs[0], xs[1], out(xs[2]), out(xs[3])];
}

/** avgPool2d and its backward on x [xs] (dy [poolOutShape]), labelled by shape and parameters. */
export function avgPoolCases(x: Arr, xs: readonly number[], dy: Arr, p: Pool2dParams): Array<[OpName, Case]> {
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
export function globalAvgPoolCases(x: Arr, xs: readonly number[], dy: Arr, tol?: Tol): Array<[OpName, Case]> {
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
export function linearCases(
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

/** softmaxCrossEntropy of logits [N, K] against labels [N]: the loss and dlogits. */
export function softmaxCrossEntropyCase(N: number, K: number, logits: Arr, labels: Arr, tol?: Tol): Case {
  return withTol(
    {
      label: `N${N} K${K}`,
      run: (be) =>
        withTensors(
          be,
          [
            [logits, [N, K]],
            [labels, [N]],
          ],
          ([tl, ty]) => {
            const r = be.ops.softmaxCrossEntropy(tl, ty);
            return [r.loss, r.dlogits];
          },
        ),
      ref: () => {
        const r = OPS.softmaxCrossEntropy.reference(logits, labels, N, K);
        return [[r.loss], r.dlogits];
      },
    },
    tol,
  );
}

/** correlationOffDiagInPlace of x [B, N, D] against `ref` (the correlations; the diagonal, which it leaves, set to 1). */
export function correlationOffDiagCase(x: Arr, [B, N, D]: readonly [number, number, number], ref: Arr, tol?: Tol): Case {
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
export function accumulateAbsBatchedCase(label: string, dst: Arr, src: Arr, o: BatchedAccumulateOptions): Case {
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
export function gateDotCase(label: string, a: Arr, b: Arr, o: { slots: number; at: number; scale: number; tol: Tol }): Case {
  const n = a.length;
  return {
    label,
    tol: o.tol,
    run: (be) =>
      withTensors(
        be,
        [
          [a, [n]],
          [b, [n]],
          [new Float32Array(o.slots), [o.slots]],
        ],
        ([x, y, out]) => (be.ops.gateDot(x, y, out, o.at, o.scale), [out]),
      ),
    ref: () => [Array.from({ length: o.slots }, (_, i) => (i === o.at ? OPS.gateDot.reference(a, b, o.scale) : 0))],
  };
}

/** One SGD step of w with grad g and momentum buffer buf: the new w and buf (the reference in f64). */
export function sgdStepCase(label: string, w: Arr, g: Arr, buf: Arr, sgd: SgdOptions, tol?: Tol): Case {
  const n = w.length;
  return withTol(
    {
      label,
      run: (be) =>
        withTensors(
          be,
          [
            [w, [n]],
            [g, [n]],
            [buf, [n]],
          ],
          ([tw, tg, tb]) => (be.ops.sgdStep(tw, tg, tb, sgd), [tw, tb]),
        ),
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

/** One Adam step of w with grad g and moments m, v: the new w, m and v (the reference in f64). */
export function adamStepCase(label: string, w: Arr, g: Arr, m: Arr, v: Arr, adam: AdamOptions, tol?: Tol): Case {
  const n = w.length;
  return withTol(
    {
      label,
      run: (be) =>
        withTensors(
          be,
          [
            [w, [n]],
            [g, [n]],
            [m, [n]],
            [v, [n]],
          ],
          ([tw, tg, tm, tv]) => (be.ops.adamStep(tw, tg, tm, tv, adam), [tw, tm, tv]),
        ),
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
export function fitnessSoftmaxCase(label: string, logits: Arr, tol?: Tol): Case {
  return withTol(
    {
      label,
      run: (be) => withTensors(be, [[logits, [logits.length]]], ([t]) => be.ops.fitnessSoftmax(t)),
      ref: () => [OPS.fitnessSoftmax.reference(logits)],
    },
    tol,
  );
}

/** fitnessGrad from the K probabilities and the candidates' gradient dots. */
export function fitnessGradCase(label: string, probs: Arr, gDots: Arr, tol?: Tol): Case {
  const K = probs.length;
  return withTol(
    {
      label,
      run: (be) =>
        withTensors(
          be,
          [
            [probs, [K]],
            [gDots, [K]],
          ],
          ([p, gd]) => be.ops.fitnessGrad(p, gd),
        ),
      ref: () => [OPS.fitnessGrad.reference(probs, gDots)],
    },
    tol,
  );
}

/** mixForward of K candidate outputs of n values each, weighted by probs. */
export function mixForwardCase(label: string, outs: Arr[], probs: Arr): Case {
  const K = outs.length;
  return {
    label,
    run: (be) =>
      withTensors(be, [...outs.map((o): [Arr, number[]] => [o, [o.length]]), [probs, [K]]], (ts) =>
        be.ops.mixForward(ts.slice(0, K), ts[K]),
      ),
    ref: () => [OPS.mixForward.reference(outs, probs)],
  };
}

/** Runs `c` on `be` and compares every output with its reference (by default within atol 1e-5, rtol 1e-4). */
export async function expectCaseMatches(be: Backend, op: string, c: Case): Promise<void> {
  const got = await c.run(be);
  const want = c.ref();
  expect(got.length).toBe(want.length);
  got.forEach((g, i) =>
    expectClose(g, want[i], { ...(c.tol ?? { atol: 1e-5, rtol: 1e-4 }), label: `${op} ${c.label} output ${i}` }),
  );
}
