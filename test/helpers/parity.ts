/**
 * The harness of the backend parity tests (parity-ops, parity-awkward): a case runs an op on one
 * backend and returns what it read back, to compare with the op's TypeScript reference. The
 * convolutions' cases are here; the other ops' in ./parity-cases.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { OPS } from '../../src/kernels/ops.js';
import type { Conv2dParams } from '../../src/kernels/params.js';
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
  const out = (size: number, k: number) => Math.floor((size + 2 * (p.pad ?? 0) - k) / (p.stride ?? 1)) + 1;
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
    const [X, W, DY]: Array<[Arr, number[]]> = [
      [x, xs],
      [w, ws],
      [dy, yShape],
    ];
    const c = (run: Case['run'], ref: Case['ref']): [ConvOp, Case] => [op, { label, ...tol, run, ref }];
    switch (op) {
      case 'conv2d':
      case 'reluConv2d':
        return c(
          (be) => withTensors(be, [X, W], ([tx, tw]) => be.ops[op](tx, tw, p)),
          () => [OPS[op].reference(x, xs, w, ws, p)],
        );
      case 'conv2dBackwardInput':
        return c(
          (be) => withTensors(be, [DY, W], ([tdy, tw]) => be.ops.conv2dBackwardInput(tdy, tw, xs, p)),
          () => [OPS.conv2dBackwardInput.reference(dy, w, ws, xs, p)],
        );
      case 'reluConv2dBackwardInput':
        return c(
          (be) => withTensors(be, [DY, W, X], ([tdy, tw, tx]) => be.ops.reluConv2dBackwardInput(tdy, tw, tx, p)),
          () => [OPS.reluConv2dBackwardInput.reference(dy, w, ws, x, xs, p)],
        );
      case 'conv2dBackwardWeight':
      case 'reluConv2dBackwardWeight':
        return c(
          (be) => withTensors(be, [X, DY], ([tx, tdy]) => be.ops[op](tx, tdy, ws, p)),
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

/**
 * The suite: every case on each backend available, its outputs against its reference (by default
 * within atol 1e-5, rtol 1e-4).
 */
export function paritySuite(
  backends: Array<{ name: string; backend: Backend | null }>,
  cases: Array<{ op: string; c: Case }>,
): void {
  describe.each(backends)('$name backend', ({ backend }) => {
    afterAll(async () => {
      await backend?.sync();
    });
    for (const { op, c } of cases) {
      it(`${op}: ${c.label}`, async ({ skip }) => {
        if (!backend) return skip();
        const got = await c.run(backend);
        const want = c.ref();
        expect(got.length).toBe(want.length);
        got.forEach((g, i) =>
          expectClose(g, want[i], { ...(c.tol ?? { atol: 1e-5, rtol: 1e-4 }), label: `${op} ${c.label} output ${i}` }),
        );
      });
    }
  });
}
