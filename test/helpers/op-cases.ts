/**
 * Every op of the catalog (OP_NAMES): its parity cases against the descriptor's TypeScript
 * reference, on random and awkward shapes (odd sizes, 1s, depthwise and grouped convolutions,
 * broadcast matmuls, aliasing in place), and the bad arguments every backend must refuse. One list
 * for both projects: test/backend/cpu/parity-ops.test.ts runs it on the CPU backend (the cpu
 * project), test/backend/parity-ops.gpu.test.ts on the webgpu backend and compares the refusals'
 * messages across both. A new op without a case here fails both files' coverage check.
 */
import type { Backend } from '../../src/backend/index.js';
import { type OpName, OPS } from '../../src/kernels/ops.js';
import type { BatchedAccumulateOptions, Conv2dParams, Pool2dParams } from '../../src/kernels/params.js';
import type { FillBlock } from '../../src/kernels/random.js';
import { Rng } from '../../src/util/rng.js';
import { type Arr, type Case, CONV_OPS, convCases, convOutShape, F, numel, withTensors } from './parity.js';
import * as opCase from './parity-cases.js';

/** A call that every backend must refuse (with the same error on each). */
export interface Bad {
  label: string;
  call(be: Backend): unknown;
}

const rng = new Rng(2024);
const rnd = (n: number, scale = 1) => rng.normals(n, scale);

/** Per op its parity cases (built when this module loads, from one seeded generator). */
export const CASES: Partial<Record<OpName, Case[]>> = {};
/** Per op the calls every backend refuses. */
export const BAD: Partial<Record<OpName, Bad[]>> = {};
const add = (op: OpName, c: Case) => (CASES[op] ??= []).push(c);
const bad = (op: OpName, label: string, call: (be: Backend) => unknown) => (BAD[op] ??= []).push({ label, call });

// ---- matmul ----------------------------------------------------------------------------------------
for (const [batchA, batchB, M, N, K, transA, transB, alpha] of [
  [0, 0, 17, 13, 9, false, false, 1],
  [3, 3, 5, 7, 33, true, false, 0.5],
  [2, 0, 1, 19, 4, false, true, 1],
  [0, 4, 6, 1, 1, true, true, -2],
] as const) {
  const aShape = [...(batchA ? [batchA] : []), ...(transA ? [K, M] : [M, K])];
  const bShape = [...(batchB ? [batchB] : []), ...(transB ? [N, K] : [K, N])];
  const a = rnd(numel(aShape));
  const b = rnd(numel(bShape));
  const o = { transA, transB, alpha };
  add('matmul', {
    label: `A[${aShape}] B[${bShape}] ${transA ? 'tA ' : ''}${transB ? 'tB ' : ''}alpha ${alpha}`,
    run: (be) =>
      withTensors(
        be,
        [
          [a, aShape],
          [b, bShape],
        ],
        ([ta, tb]) => be.ops.matmul(ta, tb, o),
      ),
    ref: () => [OPS.matmul.reference(a, aShape, b, bShape, o)],
  });
}
{
  // beta: C = alpha AB + beta C into `out`.
  const a = rnd(6 * 5);
  const b = rnd(5 * 4);
  const c = rnd(6 * 4);
  add('matmul', {
    label: 'out with beta 1',
    run: (be) =>
      withTensors(
        be,
        [
          [a, [6, 5]],
          [b, [5, 4]],
          [c, [6, 4]],
        ],
        ([ta, tb, tc]) => (be.ops.matmul(ta, tb, { alpha: 2, beta: 1, out: tc }), [tc]),
      ),
    ref: () => [OPS.matmul.reference(a, [6, 5], b, [5, 4], { alpha: 2 }).map((v, i) => v + c[i])],
  });
}
bad('matmul', 'inner dimensions', (be) => be.ops.matmul(be.empty([3, 4]), be.empty([5, 2])));
bad('matmul', 'batch sizes', (be) => be.ops.matmul(be.empty([2, 3, 4]), be.empty([3, 4, 2])));
bad('matmul', 'beta without out', (be) => be.ops.matmul(be.empty([3, 4]), be.empty([4, 2]), { beta: 1 }));
bad('matmul', '1-D operand', (be) => be.ops.matmul(be.empty([3]), be.empty([3, 2])));
// A tensor written and read by one op: the GPU cannot bind its buffer twice (it dropped the work, silently).
bad('matmul', 'out is A', (be) => {
  const a = be.empty([2, 2]);
  return be.ops.matmul(a, be.empty([2, 2]), { beta: 1, out: a });
});
bad('matmul', 'out is a window on B', (be) => {
  const b = be.empty([4, 2]);
  return be.ops.matmul(be.empty([2, 4]), b, { out: be.window(b, [2, 2]) });
});

// ---- conv2d and its gradients ------------------------------------------------------------------------
const CONVS: Array<{ x: number[]; w: number[]; p: Conv2dParams }> = [
  { x: [2, 3, 9, 7], w: [5, 3, 3, 3], p: { stride: 1, pad: 1 } },
  { x: [3, 4, 8, 8], w: [6, 4, 1, 1], p: { stride: 2, pad: 0 } },
  { x: [2, 6, 7, 7], w: [6, 1, 5, 5], p: { stride: 2, pad: 2, groups: 6 } },
  { x: [1, 4, 5, 6], w: [6, 2, 3, 3], p: { stride: 1, pad: 0, groups: 2 } },
  { x: [1, 1, 1, 1], w: [1, 1, 1, 1], p: { stride: 1, pad: 0 } },
];
for (const { x: xs, w: ws, p } of CONVS) {
  const x = rnd(numel(xs));
  const w = rnd(numel(ws), 0.3);
  const dy = rnd(numel(convOutShape(xs, ws, p)));
  const label = `x[${xs}] w[${ws}] s${p.stride} p${p.pad} g${p.groups ?? 1}`;
  const tol = { atol: 1e-4, rtol: 1e-4 };
  // After a ReLU: x with exact zeros too (relu(0) = 0, and its gradient is 0 there).
  const reluX = F(x).map((v, i) => (i % 7 === 0 ? 0 : v));
  for (const [op, c] of convCases(CONV_OPS, { label, tol, x, xs, w, ws, dy, p, reluX })) add(op, c);
}
bad('conv2d', 'channels', (be) => be.ops.conv2d(be.empty([1, 3, 5, 5]), be.empty([2, 4, 3, 3]), { stride: 1, pad: 0 }));
bad('conv2d', 'too large a kernel', (be) => be.ops.conv2d(be.empty([1, 3, 2, 2]), be.empty([2, 3, 3, 3]), { stride: 1, pad: 0 }));
bad('conv2d', 'stride 0', (be) => be.ops.conv2d(be.empty([1, 3, 5, 5]), be.empty([2, 3, 3, 3]), { stride: 0, pad: 0 }));
bad('conv2d', 'groups', (be) => be.ops.conv2d(be.empty([1, 3, 5, 5]), be.empty([2, 1, 3, 3]), { stride: 1, pad: 0, groups: 2 }));
bad('conv2dBackwardInput', 'dy shape', (be) =>
  be.ops.conv2dBackwardInput(be.empty([1, 2, 4, 4]), be.empty([2, 3, 3, 3]), [1, 3, 5, 5], { stride: 1, pad: 0 }),
);
bad('conv2dBackwardWeight', 'dy shape', (be) =>
  be.ops.conv2dBackwardWeight(be.empty([1, 3, 5, 5]), be.empty([1, 2, 4, 4]), [2, 3, 3, 3], { stride: 1, pad: 0 }),
);
bad('reluConv2d', 'channels', (be) => be.ops.reluConv2d(be.empty([1, 3, 5, 5]), be.empty([2, 4, 3, 3]), { stride: 1, pad: 0 }));
bad('reluConv2dBackwardInput', 'dy shape', (be) =>
  be.ops.reluConv2dBackwardInput(be.empty([1, 2, 4, 4]), be.empty([2, 3, 3, 3]), be.empty([1, 3, 5, 5]), { stride: 1, pad: 0 }),
);
bad('reluConv2dBackwardWeight', 'dy shape', (be) =>
  be.ops.reluConv2dBackwardWeight(be.empty([1, 3, 5, 5]), be.empty([1, 2, 4, 4]), [2, 3, 3, 3], { stride: 1, pad: 0 }),
);

// ---- batch norm ----------------------------------------------------------------------------------------
// eps 1e-3 (a ProxylessNAS net.config's) on values of variance ~1e-3, where it is half the normaliser.
for (const [shape, affine, eps, scale] of [
  [[4, 3, 5, 7], true, 1e-5, 2],
  [[2, 5, 1, 1], false, 1e-5, 2],
  [[9, 4], true, 1e-5, 2],
  [[4, 3, 5, 7], true, 1e-3, 0.03],
  [[6, 5, 2, 3], false, 1e-3, 0.03],
] as const) {
  const C = shape[1];
  const x = rnd(numel(shape), scale).map((v) => v + 1);
  const gamma = affine ? rnd(C).map((v) => 1 + 0.3 * v) : null;
  const beta = affine ? rnd(C) : null;
  const dy = rnd(numel(shape));
  const label = `[${shape}]${affine ? '' : ' no affine'} eps ${eps}`;
  const tol = { atol: 2e-4, rtol: 2e-4 };
  const res = rnd(numel(shape));
  for (const [op, c] of opCase.batchNorm({ label, x, shape, gamma, beta, dy, res, eps, tol })) add(op, c);
  // Eval mode: statistics unrelated to the batch (running averages), a large mean.
  const rm = rnd(C).map((v) => 50 + v);
  const ri = rnd(C).map((v) => 0.5 + 0.1 * Math.abs(v));
  const xe = x.map((v) => v + 50);
  add('batchNormEval', {
    label,
    tol,
    run: (be) =>
      withTensors(
        be,
        [
          [xe, shape],
          [rm, [C]],
          [ri, [C]],
          ...(affine
            ? ([
                [gamma!, [C]],
                [beta!, [C]],
              ] as Array<[Arr, number[]]>)
            : []),
        ],
        ([tx, tm, ti, tg, tb]) => be.ops.batchNormEval(tx, tm, ti, tg ?? null, tb ?? null),
      ),
    ref: () => [OPS.batchNormEval.reference(xe, shape, rm, ri, gamma, beta)],
  });
}
bad('batchNormEval', 'mean shape', (be) =>
  be.ops.batchNormEval(be.empty([2, 3, 4, 4]), be.empty([4]), be.empty([3]), null, null),
);
bad('batchNormEval', '3-D input', (be) => be.ops.batchNormEval(be.empty([2, 3, 4]), be.empty([3]), be.empty([3]), null, null));
bad('batchNormForward', '3-D input', (be) => be.ops.batchNormForward(be.empty([2, 3, 4]), null, null));
bad('batchNormForward', 'gamma shape', (be) => be.ops.batchNormForward(be.empty([2, 3, 4, 4]), be.empty([4]), null));
bad('batchNormForward', 'eps', (be) => be.ops.batchNormForward(be.empty([2, 3, 4, 4]), null, null, 0));
bad('batchNormForwardAdd', 'residual shape', (be) =>
  be.ops.batchNormForwardAdd(be.empty([2, 3, 4, 4]), null, null, be.empty([2, 3, 4, 5])),
);
bad('batchNormForwardAdd', 'gamma shape', (be) =>
  be.ops.batchNormForwardAdd(be.empty([2, 3, 4, 4]), be.empty([4]), null, be.empty([2, 3, 4, 4])),
);
bad('batchNormRelu6Forward', 'beta shape', (be) => be.ops.batchNormRelu6Forward(be.empty([2, 3, 4, 4]), null, be.empty([4])));
bad('batchNormRelu6Forward', 'eps', (be) => be.ops.batchNormRelu6Forward(be.empty([2, 3, 4, 4]), null, null, -1));
bad('batchNormRelu6Backward', 'beta shape', (be) =>
  be.ops.batchNormRelu6Backward(
    be.empty([2, 3, 4, 4]),
    be.empty([2, 3, 4, 4]),
    be.empty([3]),
    be.empty([3]),
    null,
    be.empty([2]),
  ),
);
bad('batchNormRelu6Backward', 'dz shape', (be) =>
  be.ops.batchNormRelu6Backward(be.empty([2, 3, 4, 5]), be.empty([2, 3, 4, 4]), be.empty([3]), be.empty([3]), null, null),
);
bad('batchNormBackward', 'dy shape', (be) =>
  be.ops.batchNormBackward(be.empty([2, 3, 4, 5]), be.empty([2, 3, 4, 4]), be.empty([3]), be.empty([3]), null),
);

// ---- activations -----------------------------------------------------------------------------------------
{
  const shape = [3, 5, 7];
  const x = F(rnd(numel(shape), 4));
  x[0] = 0;
  x[1] = 6;
  x[2] = -0;
  const dy = rnd(numel(shape));
  for (const [op, c] of opCase.activations(`[${shape}] with the kinks`, x, dy, shape)) add(op, c);
  for (const bwd of ['reluBackward', 'relu6Backward'] as const)
    bad(bwd, 'shapes differ', (be) => be.ops[bwd](be.empty([3, 4]), be.empty([4, 3])));
}

// ---- pooling -------------------------------------------------------------------------------------------
for (const [xs, p] of [
  [[2, 3, 7, 6], { kernel: 3, stride: 1, pad: 1, countIncludePad: false }],
  [[1, 2, 8, 9], { kernel: 2, stride: 2, pad: 0 }],
  [[2, 1, 5, 5], { kernel: 3, stride: 2, pad: 1, countIncludePad: true }],
] as Array<[number[], Pool2dParams]>) {
  const x = rnd(numel(xs));
  const dy = rnd(numel(opCase.poolOutShape(xs, p)));
  for (const [op, c] of opCase.avgPool(x, xs, dy, p)) add(op, c);
}
bad('avgPool2d', 'pad over half the kernel', (be) => be.ops.avgPool2d(be.empty([1, 1, 5, 5]), { kernel: 2, stride: 1, pad: 2 }));
bad('avgPool2dBackward', 'dy shape', (be) =>
  be.ops.avgPool2dBackward(be.empty([1, 1, 4, 4]), [1, 1, 5, 5], { kernel: 3, stride: 1, pad: 1 }),
);
for (const xs of [
  [3, 5, 4, 7],
  [1, 2, 1, 1],
]) {
  const x = rnd(numel(xs));
  const dy = rnd(xs[0] * xs[1]);
  for (const [op, c] of opCase.globalAvgPool(x, xs, dy)) add(op, c);
}
bad('globalAvgPool', 'not NCHW', (be) => be.ops.globalAvgPool(be.empty([2, 3])));
bad('globalAvgPoolBackward', 'dy shape', (be) => be.ops.globalAvgPoolBackward(be.empty([2, 4]), [2, 3, 4, 4]));

// ---- linear and loss ----------------------------------------------------------------------------------
for (const [N, In, Out, bias] of [
  [5, 7, 3, true],
  [1, 1, 4, false],
] as const) {
  const x = rnd(N * In);
  const w = rnd(Out * In);
  const b = bias ? rnd(Out) : null;
  const dy = rnd(N * Out);
  const label = `N${N} In${In} Out${Out}${bias ? '' : ' no bias'}`;
  for (const [op, c] of opCase.linear(label, [N, In, Out], { x, w, b, dy })) add(op, c);
}
bad('linear', 'In differs', (be) => be.ops.linear(be.empty([2, 3]), be.empty([4, 5]), null));
bad('linear', 'bias shape', (be) => be.ops.linear(be.empty([2, 3]), be.empty([4, 3]), be.empty([3])));
bad('linearBackward', 'dy shape', (be) => be.ops.linearBackward(be.empty([2, 5]), be.empty([2, 3]), be.empty([4, 3]), true));
for (const [N, K] of [
  [6, 10],
  [1, 3],
]) {
  const logits = rnd(N * K, 3);
  const labels = Float32Array.from({ length: N }, (_, i) => (i * 7) % K);
  add('softmaxCrossEntropy', opCase.softmaxCrossEntropy(N, K, logits, labels));
  // Label smoothing (the ProxylessNAS weight step's 0.1), and a row past a workgroup's width.
  add('softmaxCrossEntropy', opCase.softmaxCrossEntropy(N, K, logits, labels, undefined, 0.1));
}
{
  const [N, K] = [3, 130];
  const logits = rnd(N * K, 3);
  const labels = F([0, 129, 64]);
  add('softmaxCrossEntropy', opCase.softmaxCrossEntropy(N, K, logits, labels, undefined, 0.25));
}
bad('softmaxCrossEntropy', 'smoothing 1', (be) => be.ops.softmaxCrossEntropy(be.empty([3, 4]), be.empty([3]), 1));
bad('softmaxCrossEntropy', 'labels shape', (be) => be.ops.softmaxCrossEntropy(be.empty([3, 4]), be.empty([4])));
bad('softmaxCrossEntropy', 'empty logits', (be) => be.ops.softmaxCrossEntropy(be.empty([0, 4]), be.empty([0])));

// ---- element-wise ----------------------------------------------------------------------------------------
{
  const shape = [7, 11];
  const a = rnd(77);
  const b = rnd(77);
  const bias = rnd(11);
  for (const op of ['add', 'mul'] as const) {
    add(op, {
      label: '[7, 11]',
      run: (be) =>
        withTensors(
          be,
          [
            [a, shape],
            [b, shape],
          ],
          ([x, y]) => be.ops[op](x, y),
        ),
      ref: () => [OPS[op].reference(a, b)],
    });
  }
  add('scale', {
    label: '[7, 11] by -2.5',
    run: (be) => withTensors(be, [[a, shape]], ([x]) => be.ops.scale(x, -2.5)),
    ref: () => [OPS.scale.reference(a, -2.5)],
  });
  add('abs', {
    label: '[7, 11]',
    run: (be) => withTensors(be, [[a, shape]], ([x]) => be.ops.abs(x)),
    ref: () => [OPS.abs.reference(a)],
  });
  add('axpy', {
    label: 'y += 0.75 x',
    run: (be) =>
      withTensors(
        be,
        [
          [a, shape],
          [b, shape],
        ],
        ([y, x]) => (be.ops.axpy(y, x, 0.75), [y]),
      ),
    ref: () => {
      const y = F(a);
      OPS.axpy.reference(y, b, 0.75);
      return [y];
    },
  });
  add('axpy', {
    label: 'x is y (aliased)',
    run: (be) => withTensors(be, [[a, shape]], ([y]) => (be.ops.axpy(y, y, -3), [y])),
    ref: () => {
      const y = F(a);
      OPS.axpy.reference(y, F(a), -3);
      return [y];
    },
  });
  add('fill', {
    label: 'with -1.5',
    run: (be) => withTensors(be, [[a, shape]], ([t]) => (be.ops.fill(t, -1.5), [t])),
    ref: () => {
      const t = F(a);
      OPS.fill.reference(t, -1.5);
      return [t];
    },
  });
  add('addBiasRows', {
    label: '[7, 11] + [11]',
    run: (be) =>
      withTensors(
        be,
        [
          [a, shape],
          [bias, [11]],
        ],
        ([y, t]) => (be.ops.addBiasRows(y, t), [y]),
      ),
    ref: () => {
      const y = F(a);
      OPS.addBiasRows.reference(y, bias);
      return [y];
    },
  });
  bad('add', 'shapes differ', (be) => be.ops.add(be.empty([2, 3]), be.empty([3, 2])));
  bad('mul', 'shapes differ', (be) => be.ops.mul(be.empty([2, 3]), be.empty([6])));
  bad('scale', 'NaN', (be) => be.ops.scale(be.empty([2]), NaN));
  bad('axpy', 'alpha Infinity', (be) => be.ops.axpy(be.empty([2]), be.empty([2]), Infinity));
  // maskedAdd: (acc or 0) + mask[c] x: 0/1 masks (the stacked networks') and general ones, with
  // and without acc; odd channel counts, one channel, nothing after C, channels past a workgroup.
  for (const [xShape, masks] of [
    [[3, 5, 7, 9], 'binary'],
    [[2, 1, 3, 3], 'general'],
    [[4, 13], 'general'],
    [[1, 300, 1, 1], 'binary'],
    [[2, 6, 17, 1], 'general'],
  ] as const) {
    const n = numel(xShape);
    const C = xShape[1];
    const xv = rnd(n);
    const accV = rnd(n);
    const m = masks === 'binary' ? F(Array.from({ length: C }, (_, c) => (c % 3 === 1 ? 0 : 1))) : rnd(C);
    for (const withAcc of [true, false]) {
      add('maskedAdd', {
        label: `x [${xShape}] ${masks} mask${withAcc ? ' + acc' : ''}`,
        run: (be) =>
          withTensors(
            be,
            [
              [xv, [...xShape]],
              [m, [C]],
              [accV, [...xShape]],
            ],
            ([x, mk, acc]) => be.ops.maskedAdd(x, mk, withAcc ? acc : null),
          ),
        ref: () => [OPS.maskedAdd.reference(xv, m, withAcc ? accV : null, xShape)],
      });
    }
  }
  bad('maskedAdd', 'mask per channel', (be) => be.ops.maskedAdd(be.empty([2, 3, 4]), be.empty([4]), null));
  bad('maskedAdd', 'acc shape', (be) => be.ops.maskedAdd(be.empty([2, 3, 4]), be.empty([3]), be.empty([2, 3, 5])));
  bad('maskedAdd', 'no channel dimension', (be) => be.ops.maskedAdd(be.empty([6]), be.empty([6]), null));
  bad('fill', 'NaN', (be) => be.ops.fill(be.empty([2]), NaN));
  bad('addBiasRows', 'bias is a window on y', (be) => {
    const y = be.empty([2, 3]);
    return be.ops.addBiasRows(y, be.window(y, [3]));
  });
  bad('addBiasRows', 'bias shape', (be) => be.ops.addBiasRows(be.empty([2, 3]), be.empty([2])));
}

// ---- reductions ------------------------------------------------------------------------------------------
{
  const n = 4099;
  const a = rnd(n);
  const b = rnd(n);
  const tol = { atol: 2e-3, rtol: 1e-4 };
  add('sum', {
    label: `n${n} scale 0.5`,
    tol,
    run: (be) => withTensors(be, [[a, [n]]], ([t]) => be.ops.sum(t, 0.5)),
    ref: () => [[0.5 * OPS.sum.reference(a)]],
  });
  add('sumSquares', {
    label: `n${n}`,
    tol,
    run: (be) => withTensors(be, [[a, [n]]], ([t]) => be.ops.sumSquares(t)),
    ref: () => [[OPS.sumSquares.reference(a)]],
  });
  add('sumAbsProduct', {
    label: `n${n}`,
    tol,
    run: (be) =>
      withTensors(
        be,
        [
          [a, [n]],
          [b, [n]],
        ],
        ([x, y]) => be.ops.sumAbsProduct(x, y),
      ),
    ref: () => [[OPS.sumAbsProduct.reference(a, b)]],
  });
  const chunk = 8 * 4;
  const groups = Math.ceil(n / chunk);
  add('dotPartials', {
    label: `n${n} in chunks of ${chunk}`,
    tol,
    run: (be) =>
      withTensors(
        be,
        [
          [a, [n]],
          [b, [n]],
          [new Float32Array(groups), [groups]],
        ],
        ([x, y, p]) => (be.ops.dotPartials(x, y, p, 8, 4), [p]),
      ),
    ref: () => [OPS.dotPartials.reference(a, b, chunk)],
  });
  const x = rnd(13 * 17);
  add('rowSums', {
    label: '[13, 17] scale 2',
    run: (be) => withTensors(be, [[x, [13, 17]]], ([t]) => be.ops.rowSums(t, 17, 2)),
    ref: () => [OPS.rowSums.reference(x, 17, 2)],
  });
  add('colSums', {
    label: '[13, 17] scale -1',
    run: (be) => withTensors(be, [[x, [13, 17]]], ([t]) => be.ops.colSums(t, 17, -1)),
    ref: () => [OPS.colSums.reference(x, 17, -1)],
  });
  add('sumSlices', {
    label: '13 slices of [17]',
    run: (be) => withTensors(be, [[x, [13, 17]]], ([t]) => be.ops.sumSlices(t, 13, [17], 0.5)),
    ref: () => [OPS.sumSlices.reference(x, 13, 0.5)],
  });
  bad('sumAbsProduct', 'shapes differ', (be) => be.ops.sumAbsProduct(be.empty([2, 3]), be.empty([6])));
  bad('dotPartials', 'partials is a', (be) => {
    const t = be.empty([2]);
    return be.ops.dotPartials(t, be.empty([2]), t, 64, 32);
  });
  bad('dotPartials', 'sizes differ', (be) => be.ops.dotPartials(be.empty([5]), be.empty([6]), be.empty([1]), 4, 2));
  bad('rowSums', 'cols do not divide', (be) => be.ops.rowSums(be.empty([5, 3]), 4));
  bad('colSums', 'cols do not divide', (be) => be.ops.colSums(be.empty([5, 3]), 4));
  bad('sumSlices', 'slices do not fit', (be) => be.ops.sumSlices(be.empty([10]), 3, [3]));
}

// ---- optimiser steps ---------------------------------------------------------------------------------------
{
  const n = 301;
  const w = rnd(n);
  const g = rnd(n);
  const buf = rnd(n, 0.1);
  const m = rnd(n, 0.1);
  const v = rnd(n, 0.1).map((x) => x * x);
  const sgd = { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 4e-5 };
  add('sgdStep', opCase.sgdStep('Nesterov, weight decay', w, g, buf, sgd));
  const adam = { lr: 0.01, beta1: 0, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3, step: 3 };
  add('adamStep', opCase.adamStep('step 3, beta1 0', w, g, m, v, adam));
  // sgdStepMany: more tensors than one dispatch takes (3 per dispatch at 8 storage buffers, 5 at
  // 16), sizes of 1, a workgroup and a bit, and an empty one; per-tensor lr and weight decay.
  const sizes = [1, 257, 0, 33, 3, 512, 7, 1, 100, 2, 19, 300];
  const lrs = sizes.map((_, j) => 0.01 * (j + 1));
  const wds = sizes.map((_, j) => (j % 3 === 0 ? 0 : 1e-3 * j));
  add(
    'sgdStepMany',
    opCase.sgdStepMany('12 tensors, Nesterov', sizes, { lr: lrs, weightDecay: wds, momentum: 0.9, nesterov: true }, 7),
  );
  add(
    'sgdStepMany',
    opCase.sgdStepMany(
      '3 tensors, momentum with dampening',
      [5, 64, 9],
      { lr: [0.1, 0.2, 0.3], weightDecay: [0, 0.01, 0.1], momentum: 0.5, dampening: 0.25 },
      8,
    ),
  );
  add('sgdStepMany', opCase.sgdStepMany('one tensor, plain SGD', [70], { lr: [0.5], weightDecay: [0] }, 9));
  add('sgdStepMany', opCase.sgdStepMany('no tensors', [], { lr: [], weightDecay: [] }, 10));
  bad('sgdStepMany', 'lengths', (be) =>
    be.ops.sgdStepMany([be.empty([3])], [be.empty([3])], [be.empty([3])], { lr: [1, 2], weightDecay: [0] }),
  );
  bad('sgdStepMany', 'sizes differ', (be) =>
    be.ops.sgdStepMany([be.empty([3])], [be.empty([4])], [be.empty([3])], { lr: [1], weightDecay: [0] }),
  );
  bad('sgdStepMany', 'a weight twice', (be) => {
    const t = be.empty([3]);
    return be.ops.sgdStepMany([t, t], [be.empty([3]), be.empty([3])], [be.empty([3]), be.empty([3])], {
      lr: [1, 1],
      weightDecay: [0, 0],
    });
  });
  bad('sgdStepMany', "a buffer is another tensor's gradient", (be) => {
    const g = be.empty([3]);
    return be.ops.sgdStepMany([be.empty([3]), be.empty([3])], [g, be.empty([3])], [be.empty([3]), g], {
      lr: [1, 1],
      weightDecay: [0, 0],
      momentum: 0.9,
    });
  });
  bad('sgdStepMany', 'Nesterov without momentum', (be) =>
    be.ops.sgdStepMany([be.empty([3])], [be.empty([3])], [be.empty([3])], { lr: [1], weightDecay: [0], nesterov: true }),
  );
  bad('sgdStepMany', 'lr NaN', (be) =>
    be.ops.sgdStepMany([be.empty([3])], [be.empty([3])], [be.empty([3])], { lr: [NaN], weightDecay: [0] }),
  );
  bad('sgdStep', 'Nesterov without momentum', (be) =>
    be.ops.sgdStep(be.empty([3]), be.empty([3]), be.empty([3]), { lr: 1, nesterov: true }),
  );
  bad('sgdStep', 'sizes differ', (be) => be.ops.sgdStep(be.empty([3]), be.empty([4]), be.empty([3]), { lr: 1 }));
  bad('sgdStep', 'grad is w', (be) => {
    const t = be.empty([3]);
    return be.ops.sgdStep(t, t, be.empty([3]), { lr: 1 });
  });
  bad('sgdStep', 'buf is w', (be) => {
    const t = be.empty([3]);
    return be.ops.sgdStep(t, be.empty([3]), t, { lr: 1, momentum: 0.9 });
  });
  // adamStepRows: rows at their own steps, gaps between them left alone, a row of one, an empty row.
  for (const [label, rows] of [
    [
      'three rows with gaps',
      [
        { offset: 0, size: 5, step: 3 },
        { offset: 9, size: 1, step: 1 },
        { offset: 12, size: 260, step: 40 },
      ],
    ],
    [
      'rows out of order, an empty one',
      [
        { offset: 280, size: 21, step: 2 },
        { offset: 5, size: 0, step: 9 },
        { offset: 0, size: 280, step: 1 },
      ],
    ],
    ['no rows', []],
  ] as const) {
    add('adamStepRows', {
      label,
      run: (be) =>
        withTensors(
          be,
          [w, g, m, v].map((a): [Arr, number[]] => [a, [n]]),
          ([tw, tg, tm, tv]) => {
            be.ops.adamStepRows(tw, tg, tm, tv, rows, adam);
            return [tw, tm, tv];
          },
        ),
      ref: () => {
        const [rw, rm, rv] = [w, m, v].map((z) => Float64Array.from(z));
        OPS.adamStepRows.reference(rw, g, rm, rv, rows, adam);
        return [rw, rm, rv];
      },
    });
  }
  bad('adamStepRows', 'rows overlap', (be) =>
    be.ops.adamStepRows(
      be.empty([9]),
      be.empty([9]),
      be.empty([9]),
      be.empty([9]),
      [
        { offset: 0, size: 5, step: 1 },
        { offset: 4, size: 2, step: 1 },
      ],
      { lr: 1 },
    ),
  );
  bad('adamStepRows', 'a row past the end', (be) =>
    be.ops.adamStepRows(be.empty([9]), be.empty([9]), be.empty([9]), be.empty([9]), [{ offset: 5, size: 5, step: 1 }], { lr: 1 }),
  );
  bad('adamStepRows', 'step 0', (be) =>
    be.ops.adamStepRows(be.empty([9]), be.empty([9]), be.empty([9]), be.empty([9]), [{ offset: 0, size: 5, step: 0 }], { lr: 1 }),
  );
  bad('adamStepRows', 'm is w', (be) => {
    const t = be.empty([9]);
    return be.ops.adamStepRows(t, be.empty([9]), t, be.empty([9]), [], { lr: 1 });
  });
  bad('adamStep', 'm is v', (be) => {
    const t = be.empty([3]);
    return be.ops.adamStep(be.empty([3]), be.empty([3]), t, t, { lr: 1, step: 1 });
  });
  bad('adamStep', 'step 0', (be) =>
    be.ops.adamStep(be.empty([3]), be.empty([3]), be.empty([3]), be.empty([3]), { lr: 1, step: 0 }),
  );
  bad('adamStep', 'beta 1', (be) =>
    be.ops.adamStep(be.empty([3]), be.empty([3]), be.empty([3]), be.empty([3]), { lr: 1, step: 1, beta1: 1 }),
  );
}

// ---- correlation ------------------------------------------------------------------------------------------
for (const [B, N, D] of [
  [1, 9, 33],
  [3, 5, 2],
  [2, 4, 1],
]) {
  const x = F(rnd(B * N * D));
  // A constant row: correlates 0 with the others, 1 with itself.
  for (let d = 0; d < D; d++) x[d] = 0.25;
  const shape = [B, N, D];
  const ref = OPS.correlation.reference(x, B, N, D);
  add('correlation', {
    label: `[${shape}] with a constant row`,
    run: (be) => withTensors(be, [[x, shape]], ([t]) => be.ops.correlation(t, { allowSingleFeature: true })),
    ref: () => [ref],
  });
  add('correlationOffDiagInPlace', opCase.correlationOffDiag(x, [B, N, D], ref));
}
bad('correlation', 'one feature', (be) => be.ops.correlation(be.empty([3, 1])));
bad('correlation', '1-D', (be) => be.ops.correlation(be.empty([3])));
bad('correlationOffDiagInPlace', 'out is a window on x', (be) => {
  const x = be.empty([1, 3, 4]);
  return be.ops.correlationOffDiagInPlace(x, be.window(x, [1, 3, 3]));
});
bad('correlationOffDiagInPlace', 'out size', (be) => be.ops.correlationOffDiagInPlace(be.empty([2, 3, 4]), be.empty([2, 3, 2])));

// ---- gram ------------------------------------------------------------------------------------------------
// Z Z^T: N below a 4-row group and not a multiple of 4, D = 1, D past a k-tile, N = 64 (the GPU's
// largest symmetric program) and 65 (the matmul); a 2-D z; sign codes (NASWOT's: exact sums) into `out`.
for (const shape of [
  [1, 3, 1],
  [2, 13, 37],
  [1, 64, 20],
  [1, 65, 9],
  [9, 17],
]) {
  const [B, N, D] = shape.length === 3 ? shape : [1, ...shape];
  const z = rnd(B * N * D);
  add('gram', {
    label: `z [${shape}]`,
    run: (be) => withTensors(be, [[z, shape]], ([t]) => be.ops.gram(t)),
    ref: () => [OPS.gram.reference(z, B, N, D)],
  });
}
{
  const [L, n, d] = [3, 6, 11];
  const s = F(rnd(L * n * d).map((v) => (v > 0 ? 1 : -1)));
  add('gram', {
    label: `sign codes [${L}, ${n}, ${d}] into out`,
    run: (be) =>
      withTensors(
        be,
        [
          [s, [L, n, d]],
          [new Float32Array(L * n * n).fill(7), [L, n, n]],
        ],
        ([t, out]) => (be.ops.gram(t, out), [out]),
      ),
    ref: () => [OPS.gram.reference(s, L, n, d)],
    tol: { atol: 0, rtol: 0 },
  });
}
bad('gram', '1-D', (be) => be.ops.gram(be.empty([12])));
bad('gram', 'out size', (be) => be.ops.gram(be.empty([2, 3, 4]), be.empty([2, 3, 2])));
bad('gram', 'out is a window on z', (be) => {
  const z = be.empty([1, 3, 4]);
  return be.ops.gram(z, be.window(z, [1, 3, 3]));
});

// ---- proxy accumulations -------------------------------------------------------------------------------------
{
  const n = 5;
  const src = rnd(4 * n * n);
  const dst = rnd(3 * 2 * n * n);
  add('accumulateAbs', {
    label: `n ${n * n} weight 4`,
    run: (be) =>
      withTensors(
        be,
        [
          [dst.subarray(0, n * n), [n, n]],
          [src.subarray(0, n * n), [n, n]],
        ],
        ([d, s]) => (be.ops.accumulateAbs(d, s, 4), [d]),
      ),
    ref: () => {
      const d = F(dst.subarray(0, n * n));
      OPS.accumulateAbs.reference(d, src.subarray(0, n * n), 4);
      return [d];
    },
  });
  for (const o of [
    { n, slots: 3, outs: 2, layerSlots: [0, 0, 2, 2], weights: [1, 2, 4, 8], abs: true, unitDiagonal: true },
    { n, slots: 3, outs: 1, layerSlots: [1, 2, 2, 2], weights: [0.5, 0.5, 0.5, 0.5], abs: false },
  ] as BatchedAccumulateOptions[]) {
    const size = o.slots * (o.outs ?? 1) * n * n;
    const label = `outs ${o.outs} slots ${o.layerSlots}${o.unitDiagonal ? ' unit diagonal' : ''}`;
    add('accumulateAbsBatched', opCase.accumulateAbsBatched(label, dst.subarray(0, size), src, o));
  }
  const x = F(rnd(33));
  x[3] = 0;
  add('signCodes', {
    label: '33 with a zero',
    run: (be) => withTensors(be, [[x, [33]]], ([t]) => be.ops.signCodes(t)),
    ref: () => [OPS.signCodes.reference(x)],
  });
  add('signCodesInPlace', {
    label: 'the first 20 of 33',
    run: (be) => withTensors(be, [[x, [33]]], ([t]) => (be.ops.signCodesInPlace(t, 20), [t])),
    ref: () => [Float32Array.from(x, (v, i) => (i < 20 ? (v > 0 ? 1 : -1) : v))],
  });
  // unstackGroups: [rows, groups, F] -> blocks at offsets, in any order, some skipped; dst keeps
  // what no block covers.
  for (const [rows, groups, feats, offsets, dstSize] of [
    [3, 1, 5, [2], 19],
    [4, 3, 7, [2 * 28 + 1, -1, 0], 3 * 28 + 2],
    [1, 5, 1, [4, 3, -1, 1, 0], 6],
    [5, 4, 33, [-1, 3 * 165, 165, 0], 4 * 165],
  ] as const) {
    const srcV = rnd(rows * groups * feats);
    const dstV = rnd(dstSize);
    const o = { rows, groups, offsets: [...offsets] };
    add('unstackGroups', {
      label: `rows ${rows} groups ${groups} F ${feats} offsets ${offsets}`,
      run: (be) =>
        withTensors(
          be,
          [
            [dstV, [dstSize]],
            [srcV, [rows, groups * feats]],
          ],
          ([d, sT]) => (be.ops.unstackGroups(d, sT, o), [d]),
        ),
      ref: () => {
        const d = F(dstV);
        OPS.unstackGroups.reference(d, srcV, o);
        return [d];
      },
    });
  }
  bad('unstackGroups', 'dst is src', (be) => {
    const t = be.empty([8]);
    return be.ops.unstackGroups(t, t, { rows: 2, groups: 2, offsets: [0, -1] });
  });
  bad('unstackGroups', 'a block past dst', (be) =>
    be.ops.unstackGroups(be.empty([7]), be.empty([2, 2, 2]), { rows: 2, groups: 2, offsets: [0, 4] }),
  );
  bad('unstackGroups', 'offsets per group', (be) =>
    be.ops.unstackGroups(be.empty([8]), be.empty([2, 4]), { rows: 2, groups: 2, offsets: [0] }),
  );
  bad('unstackGroups', 'src not rows x groups x F', (be) =>
    be.ops.unstackGroups(be.empty([8]), be.empty([7]), { rows: 2, groups: 2, offsets: [0, 1] }),
  );
  bad('accumulateAbs', 'sizes differ', (be) => be.ops.accumulateAbs(be.empty([3]), be.empty([4]), 1));
  bad('accumulateAbs', 'dst is src', (be) => {
    const t = be.empty([3]);
    return be.ops.accumulateAbs(t, t, 1);
  });
  bad('accumulateAbsBatched', 'dst is src', (be) => {
    const t = be.empty([4]);
    return be.ops.accumulateAbsBatched(t, t, { n: 1, slots: 1, layerSlots: [0], weights: [1] });
  });
  bad('accumulateAbsBatched', 'unsorted slots', (be) =>
    be.ops.accumulateAbsBatched(be.empty([2 * 4]), be.empty([2 * 4]), { n: 2, slots: 2, layerSlots: [1, 0], weights: [1, 1] }),
  );
  bad('accumulateAbsBatched', 'dst too small', (be) =>
    be.ops.accumulateAbsBatched(be.empty([3]), be.empty([4]), { n: 2, slots: 1, layerSlots: [0], weights: [1] }),
  );
}

// ---- ProxylessNAS gates and AutoSpace fitness ---------------------------------------------------------------
{
  const n = 517;
  const a = rnd(n);
  const b = rnd(n);
  const tol = { atol: 1e-3, rtol: 1e-4 };
  add('gateDot', opCase.gateDot(`n${n} into slot 2 of 4, scale -0.5`, a, b, { slots: 4, at: 2, scale: -0.5, tol }));
  add('gateDot', {
    label: 'a is b (aliased)',
    tol,
    run: (be) =>
      withTensors(
        be,
        [
          [a, [n]],
          [new Float32Array(1), [1]],
        ],
        ([x, out]) => (be.ops.gateDot(x, x, out, 0), [out]),
      ),
    ref: () => [[OPS.gateDot.reference(a, a)]],
  });
  bad('gateDot', 'index', (be) => be.ops.gateDot(be.empty([3]), be.empty([3]), be.empty([2]), 2));

  // gateDotMany: more pairs than one dispatch takes (3 per dispatch at 8 storage buffers, 7 at 16),
  // one dy shared by several pairs and a pair of one tensor with itself, sizes 0, 1 and several
  // first-pass workgroups (20000 > 8 x 256 x 8), indices out of order with slots left unwritten.
  {
    const sizes = [517, 1, 20000, 517, 0, 33, 517, 2, 300, 517, 7, 64];
    const as = sizes.map((m) => rnd(m));
    const shared = rnd(517);
    const bs = sizes.map((m, j) => (m === 517 && j > 0 ? shared : rnd(m)));
    const indices = [5, 0, 13, 2, 7, 1, 12, 3, 9, 4, 11, 8];
    const slots = 15;
    add('gateDotMany', {
      label: '12 pairs into 15 slots, a shared operand, scale 0.25',
      tol: { atol: 1e-2, rtol: 1e-4 },
      run: (be) =>
        withTensors(
          be,
          [...as.map((x): [Arr, number[]] => [x, [x.length]]), [shared, [517]], [new Float32Array(slots), [slots]]],
          (ts) => {
            const out = ts[ts.length - 1];
            const sh = ts[ts.length - 2];
            const tb = sizes.map((m, j) => (m === 517 && j > 0 ? sh : be.upload(bs[j], [m])));
            be.ops.gateDotMany(ts.slice(0, sizes.length), tb, out, indices, 0.25);
            tb.forEach((t) => t !== sh && t.dispose());
            return [out];
          },
        ),
      ref: () => [OPS.gateDotMany.reference(as, bs, slots, indices, 0.25)],
    });
    add('gateDotMany', {
      label: 'a pair of one tensor with itself; no pairs',
      tol,
      run: (be) =>
        withTensors(
          be,
          [
            [a, [n]],
            [new Float32Array(2), [2]],
          ],
          ([x, out]) => (be.ops.gateDotMany([x], [x], out, [1]), be.ops.gateDotMany([], [], out, []), [out]),
        ),
      ref: () => [[0, OPS.gateDot.reference(a, a)]],
    });
  }
  bad('gateDotMany', 'index twice', (be) =>
    be.ops.gateDotMany([be.empty([3]), be.empty([3])], [be.empty([3]), be.empty([3])], be.empty([2]), [1, 1]),
  );
  bad('gateDotMany', 'out is an operand', (be) => {
    const o = be.empty([3]);
    return be.ops.gateDotMany([be.empty([3])], [o], o, [0]);
  });
  bad('gateDotMany', 'lengths', (be) => be.ops.gateDotMany([be.empty([3])], [], be.empty([2]), [0]));
  bad('gateDotMany', 'operands differ', (be) => be.ops.gateDotMany([be.empty([3])], [be.empty([4])], be.empty([2]), [0]));
  bad('gateDotMany', 'index outside out', (be) => be.ops.gateDotMany([be.empty([3])], [be.empty([3])], be.empty([2]), [2]));

  const K = 3;
  const logits = F([0.3, -1.2, 2]);
  const probs = OPS.fitnessSoftmax.reference(logits);
  const outs = [rnd(n), rnd(n), rnd(n)];
  const dy = rnd(n);
  add('fitnessSoftmax', opCase.fitnessSoftmax(`K${K}`, logits));
  add('mixAccumulate', {
    label: 'y += p[1] o',
    run: (be) =>
      withTensors(
        be,
        [
          [outs[0], [n]],
          [outs[1], [n]],
          [probs, [K]],
        ],
        ([y, o, p]) => (be.ops.mixAccumulate(y, o, p, 1), [y]),
      ),
    ref: () => [OPS.mixAccumulate.reference(outs[0], outs[1], probs, 1)],
  });
  add('mixForward', opCase.mixForward(`K${K} n${n}`, outs, probs));
  add('mixBackward', {
    label: 'candidate 2: dOut and gDots',
    tol: { atol: 1e-3, rtol: 1e-4 },
    run: (be) =>
      withTensors(
        be,
        [
          [outs[2], [n]],
          [dy, [n]],
          [probs, [K]],
          [new Float32Array(n), [n]],
          [new Float32Array(K), [K]],
        ],
        ([o, d, p, dOut, g]) => {
          be.ops.mixBackward(o, d, p, 2, dOut, g);
          return [dOut, g];
        },
      ),
    ref: () => {
      const r = OPS.mixBackward.reference(outs[2], dy, probs, 2);
      return [r.dOut, [0, 0, r.gDot]];
    },
  });
  add('mixBackward', {
    label: 'candidate 0: the dot only',
    tol: { atol: 1e-3, rtol: 1e-4 },
    run: (be) =>
      withTensors(
        be,
        [
          [outs[0], [n]],
          [dy, [n]],
          [probs, [K]],
          [new Float32Array(K), [K]],
        ],
        ([o, d, p, g]) => (be.ops.mixBackward(o, d, p, 0, null, g), [g]),
      ),
    ref: () => [[OPS.mixBackward.reference(outs[0], dy, probs, 0).gDot, 0, 0]],
  });
  // mixBackwardMany: every candidate's dOut and gDots (fused where 2K + 3 buffers bind), K = 4 over
  // several chunks of the fold; a candidate without dOut and no gDots (one mixBackward each).
  {
    const m = 5000;
    const lg4 = F([0.1, 1.5, -0.7, 0.2]);
    const p4 = OPS.fitnessSoftmax.reference(lg4);
    const o4 = [rnd(m), rnd(m), rnd(m), rnd(m)];
    const dy4 = rnd(m);
    for (const [label, withD, withG] of [
      ['K4 n5000: every dOut and gDots', [true, true, true, true], true],
      ['K4 n5000: candidate 1 without dOut', [true, false, true, true], true],
      ['K4 n5000: no gDots', [true, true, true, true], false],
    ] as const) {
      add('mixBackwardMany', {
        label,
        tol: { atol: 1e-2, rtol: 1e-4 },
        run: (be) =>
          withTensors(
            be,
            [...o4.map((o): [Arr, number[]] => [o, [m]]), [dy4, [m]], [p4, [4]], [new Float32Array(4), [4]]],
            (ts) => {
              const dOuts = withD.map((w) => (w ? be.empty([m]) : null));
              be.ops.mixBackwardMany(ts.slice(0, 4), ts[4], ts[5], dOuts, withG ? ts[6] : null);
              return [...dOuts.filter((d) => d !== null), ...(withG ? [ts[6]] : [])];
            },
          ),
        ref: () => {
          const r = OPS.mixBackwardMany.reference(o4, dy4, p4);
          return [...r.dOuts.filter((_, k) => withD[k]), ...(withG ? [r.gDots] : [])];
        },
      });
    }
  }
  bad('mixBackwardMany', 'dOuts per candidate', (be) =>
    be.ops.mixBackwardMany([be.empty([4]), be.empty([4])], be.empty([4]), be.empty([2]), [null], null),
  );
  bad('mixBackwardMany', 'a dOut is an input', (be) => {
    const o = be.empty([4]);
    return be.ops.mixBackwardMany([o, be.empty([4])], be.empty([4]), be.empty([2]), [o, be.empty([4])], be.empty([2]));
  });
  const gDots = F([0.5, -2, 1]);
  add('fitnessGrad', opCase.fitnessGrad(`K${K}`, probs, gDots));
  bad('fitnessSoftmax', 'not a vector', (be) => be.ops.fitnessSoftmax(be.empty([2, 2])));
  bad('mixAccumulate', 'aliased y and o', (be) => {
    const y = be.empty([4]);
    return be.ops.mixAccumulate(y, y, be.empty([2]), 0);
  });
  bad('mixAccumulate', 'index', (be) => be.ops.mixAccumulate(be.empty([4]), be.empty([4]), be.empty([2]), 2));
  bad('mixForward', 'shapes', (be) => be.ops.mixForward([be.empty([4]), be.empty([5])], be.empty([2])));
  bad('mixForward', 'workgroup', (be) => be.ops.mixForward([be.empty([4])], be.empty([1]), { wg: 3 }));
  bad('mixBackward', 'dOut shape', (be) =>
    be.ops.mixBackward(be.empty([4]), be.empty([4]), be.empty([2]), 0, be.empty([5]), null),
  );
  bad('fitnessGrad', 'gDots shape', (be) => be.ops.fitnessGrad(be.empty([3]), be.empty([2])));
}

// ---- firstElementGrad (VKDNW) ------------------------------------------------------------------
{
  // [N, Cin, H, W] -> [N, Cout, OH, OW] with the conv's stride / pad (kernel 3: OH = (H + 2 pad - 3) / stride + 1),
  // a plane wider than one workgroup, the BN cases (stride 1, pad 0; no x), and row 2 of a 4-row out.
  for (const [N, Cin, H, W, Cout, OH, OW, stride, pad, hasX] of [
    [3, 5, 7, 9, 4, 4, 5, 2, 1, true],
    [2, 1, 17, 19, 3, 17, 19, 1, 1, true],
    [1, 2, 6, 5, 1, 6, 5, 1, 0, true],
    [4, 0, 0, 0, 6, 3, 11, 1, 0, false],
  ] as const) {
    const x = hasX ? rnd(N * Cin * H * W) : null;
    const dy = rnd(N * Cout * OH * OW);
    const dims = { N, Cin, H, W, Cout, OH, OW };
    const p = { stride, pad };
    const want = new Float32Array(4 * N);
    want.set(OPS.firstElementGrad.reference(x, dy, dims, p), 2 * N);
    add('firstElementGrad', {
      label: `${hasX ? `x[${N},${Cin},${H},${W}] ` : 'no x '}dy[${N},${Cout},${OH},${OW}] stride ${stride} pad ${pad}, row 2 of 4`,
      tol: { atol: 1e-4, rtol: 1e-4 },
      run: (be) =>
        withTensors(
          be,
          [...(x ? [[x, [N, Cin, H, W]] as [Arr, number[]]] : []), [dy, [N, Cout, OH, OW]], [new Float32Array(4 * N), [4, N]]],
          (ts) => {
            const [tx, td, out] = x ? ts : [null, ...ts];
            be.ops.firstElementGrad(tx, td!, p, out!, 2);
            return [out!];
          },
        ),
      ref: () => [want],
    });
  }
  bad('firstElementGrad', 'row outside out', (be) =>
    be.ops.firstElementGrad(null, be.empty([2, 1, 3, 3]), { stride: 1, pad: 0 }, be.empty([4]), 2),
  );
  bad('firstElementGrad', 'batch mismatch', (be) =>
    be.ops.firstElementGrad(be.empty([3, 1, 3, 3]), be.empty([2, 1, 3, 3]), { stride: 1, pad: 0 }, be.empty([4]), 0),
  );
  bad('firstElementGrad', 'out is dy', (be) => {
    const dy = be.empty([2, 1, 3, 3]);
    return be.ops.firstElementGrad(null, dy, { stride: 1, pad: 0 }, dy, 0);
  });
}

// ---- uniformFill (parameter initialisation; bit for bit: test/backend/uniform-fill.gpu.test.ts) ----------------
for (const [shape, state, scale] of [
  [[3, 5, 7], 12345, 1 / Math.sqrt(35)],
  [[70_001], 0xffffff00, 0.75],
  [[0], 1, 1],
] as const) {
  add('uniformFill', {
    label: `[${shape}] state ${state} scale ${scale.toPrecision(3)}`,
    tol: { atol: 0, rtol: 0 },
    run: async (be) => {
      const t = be.ops.uniformFill(shape, state, scale);
      const v = await t.read();
      t.dispose();
      return [v];
    },
    ref: () => [OPS.uniformFill.reference(shape, state, scale)],
  });
}
bad('uniformFill', 'state', (be) => be.ops.uniformFill([2], -1, 1));
{
  const shapes = [[3, 5], [0], [9_001], [2, 2, 2], [1], [7], [4, 4], [6], [5, 5]];
  const states = shapes.map((_, i) => 1000 * i + 17);
  const scales = shapes.map((_, i) => 0.1 * (i + 1));
  add('uniformFillMany', {
    label: `${shapes.length} targets (two dispatches' worth)`,
    tol: { atol: 0, rtol: 0 },
    run: async (be) => {
      const ts = shapes.map((s) => be.empty(s));
      be.ops.uniformFillMany(ts, states, scales);
      const v = await Promise.all(ts.map((t) => t.read()));
      ts.forEach((t) => t.dispose());
      return v;
    },
    ref: () => OPS.uniformFillMany.reference(shapes, states, scales),
  });
  bad('uniformFillMany', 'lengths', (be) => be.ops.uniformFillMany([be.empty([2])], [1, 2], [1]));
  // Blocks of one tensor: zeros, a state at the top of the uint32 range, scales per block, a 1x1
  // kernel in a 3x3's centre (stride 9, offset 4), one block, odd sizes.
  const fb = (state: number, scale: number, stride?: number, offset?: number) => ({ state, scale, stride, offset });
  for (const [shape, blocks] of [
    [
      [4, 3, 3, 3],
      [fb(17, 0.19), null, fb(0xffffffff, 0.5), fb(5, 0.19, 9, 4)],
    ],
    [[1, 7], [fb(123456, 1 / Math.sqrt(7))]],
    [
      [9, 1001],
      [null, fb(1, 0.03), fb(2, 0.03, 7, 6), null, null, fb(3, 0.03), fb(4, 0.03), fb(5, 0.03, 143, 0), fb(6, 0.03)],
    ],
    [
      [3, 2],
      [null, null, null],
    ],
  ] as Array<[number[], Array<FillBlock | null>]>) {
    add('uniformFillBlocks', {
      label: `[${shape}] in ${blocks.length} blocks: ${blocks.map((b) => (b ? `${b.state}/${b.stride ?? 1}` : '0')).join(' ')}`,
      tol: { atol: 0, rtol: 0 },
      run: async (be) => {
        const t = be.empty(shape);
        be.ops.uniformFillBlocks(t, blocks);
        const v = await t.read();
        t.dispose();
        return [v];
      },
      ref: () => [OPS.uniformFillBlocks.reference(shape, blocks)],
    });
  }
  bad('uniformFillBlocks', 'unequal blocks', (be) => be.ops.uniformFillBlocks(be.empty([7]), [fb(1, 1), fb(2, 1)]));
  bad('uniformFillBlocks', 'a state past uint32', (be) => be.ops.uniformFillBlocks(be.empty([4]), [fb(1, 1), fb(2 ** 32, 1)]));
  bad('uniformFillBlocks', 'a stride that does not tile', (be) =>
    be.ops.uniformFillBlocks(be.empty([8]), [fb(1, 1, 3, 0), null]),
  );
}

/** Ops of the catalog without a parity case here (the coverage checks want none). */
export function opsWithoutCases(ops: readonly OpName[]): OpName[] {
  return ops.filter((op) => !CASES[op]?.length);
}

/** What `b` throws on `be`, as "Name: message" ('no error' where it does not throw). */
export function refusal(be: Backend, b: Bad): string {
  try {
    b.call(be);
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no error';
}

/** Every case, in catalog order, as paritySuite takes them. */
export function allCases(ops: readonly OpName[]): Array<{ op: OpName; c: Case }> {
  return ops.flatMap((op) => (CASES[op] ?? []).map((c) => ({ op, c })));
}
