/** Matmul, reductions and the correlation matrices. (Part of src/kernels/params.ts, which re-exports every file here.) */
import { ShapeError } from '../../gpu/errors.js';
import { assertUnaliased, type SameStorage, shapeStr, type Shaped } from './common.js';

// ---- matmul ---------------------------------------------------------------------------------------

/** Reads (batch, rows, cols) from a 2-D or 3-D matmul operand shape. */
export function matmulOperandDims(op: string, name: string, shape: readonly number[]): [number, number, number] {
  if (shape.length === 2) return [1, shape[0], shape[1]];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  throw new ShapeError(`${op}: ${name} must be 2-D or 3-D, got ${shapeStr(shape)}`);
}

// ---- matmul (checks) ----------------------------------------------------------------------------------

export interface MatmulDims {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** Whether each operand has its own matrix per batch entry (else it broadcasts). */
  batchA: boolean;
  batchB: boolean;
  outShape: number[];
  beta: number;
}

/** C = alpha op(A) op(B) + beta C: the sizes, the output shape and the `out` / beta rules. */
export function matmulDims(
  aShape: readonly number[],
  bShape: readonly number[],
  opts: { transA?: boolean; transB?: boolean; beta?: number; out?: { readonly size: number } },
): MatmulDims {
  const [ba, ra, ca] = matmulOperandDims('matmul', 'A', aShape);
  const [bb, rb, cb] = matmulOperandDims('matmul', 'B', bShape);
  const M = opts.transA ? ca : ra;
  const K = opts.transA ? ra : ca;
  const Kb = opts.transB ? cb : rb;
  const N = opts.transB ? rb : cb;
  if (K !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: op(A) is ${M}x${K}, op(B) is ${Kb}x${N} (A [${aShape}], B [${bShape}])`,
    );
  }
  if (ba !== bb && ba !== 1 && bb !== 1) throw new ShapeError(`matmul: batch sizes ${ba} and ${bb} differ`);
  const batch = Math.max(ba, bb);
  const outShape = aShape.length === 3 || bShape.length === 3 ? [batch, M, N] : [M, N];
  const beta = opts.beta ?? 0;
  if (beta !== 0 && !opts.out) throw new Error('matmul: beta != 0 needs an `out` tensor to accumulate into');
  if (opts.out && opts.out.size !== batch * M * N) {
    throw new ShapeError(`matmul: out has ${opts.out.size} elements, expected ${batch}x${M}x${N}`);
  }
  return { batch, M, N, K, batchA: ba !== 1, batchB: bb !== 1, outShape, beta };
}

// ---- reductions (checks) ------------------------------------------------------------------------------

/** Rows of x viewed as [rows, cols] (cols must divide its size). */
export function reduceRows(op: string, x: Shaped & { readonly size: number }, cols: number): number {
  if (!Number.isInteger(cols) || cols <= 0 || x.size % cols !== 0) {
    throw new ShapeError(`${op}: ${cols} columns do not divide [${x.shape.join(', ')}] (${x.size} elements)`);
  }
  return x.size / cols;
}

export function checkRowSumsOut(outSize: number, rows: number, outShape: readonly number[] | undefined): void {
  if (outSize !== rows) throw new ShapeError(`rowSums: out shape [${(outShape ?? []).join(', ')}] does not hold ${rows} rows`);
}

export function checkSumSlices(xSize: number, slices: number, outShape: readonly number[], outSize: number): void {
  if (xSize !== slices * outSize) {
    throw new ShapeError(`sumSlices: ${xSize} elements are not ${slices} slices of [${outShape.join(', ')}]`);
  }
}

/** matmul into a given `out`: it must not share storage with A or B (none given: a fresh one). */
export function assertMatmulOutUnaliased<T>(out: T | undefined, a: T, b: T, same: SameStorage<T>): void {
  if (out === undefined) return;
  assertUnaliased(
    'matmul',
    [['out', out]],
    [
      ['A', a],
      ['B', b],
    ],
    same,
  );
}

/** dotPartials writes partials and reads a and b: partials must not share storage with either. */
export function assertDotPartialsUnaliased<T>(partials: T, a: T, b: T, same: SameStorage<T>): void {
  assertUnaliased(
    'dotPartials',
    [['partials', partials]],
    [
      ['a', a],
      ['b', b],
    ],
    same,
  );
}

/** dotPartials: equal operand sizes and room for one partial per group. */
export function checkDotPartials(n: number, bSize: number, partialsSize: number, groups: number): void {
  if (bSize !== n) throw new ShapeError(`dotPartials: ${n} vs ${bSize} elements`);
  if (partialsSize < groups) throw new ShapeError(`dotPartials: partials holds ${partialsSize} values, needs ${groups}`);
}

// ---- correlation (checks) -----------------------------------------------------------------------------

/** correlation's [B, N, D] (or [N, D]) input; D >= 2 unless a single feature is allowed. */
export function correlationDims(shape: readonly number[], allowSingleFeature = false): [number, number, number] {
  const [B, N, D] = shape.length === 3 ? shape : shape.length === 2 ? [1, ...shape] : [];
  if (B === undefined || N === undefined || D === undefined) {
    throw new ShapeError(`correlation: input must be [B, N, D] or [N, D], got [${shape.join(', ')}]`);
  }
  // D = 1 gives the identity (every row constant); callers that mean it (WRCor over any ReLU) opt in.
  if (D < 2 && !(D === 1 && allowSingleFeature)) {
    throw new ShapeError(`correlation: need at least 2 features per row to correlate, got D=${D}`);
  }
  return [B, N, D];
}

/** correlationOffDiagInPlace: x [B, N, D] and out of B x N x N elements. */
export function offDiagCorrelationDims(xShape: readonly number[], outSize: number): [number, number, number] {
  if (xShape.length !== 3) throw new ShapeError(`correlationOffDiagInPlace: x must be [B, N, D], got [${xShape.join(', ')}]`);
  const [B, N, D] = xShape;
  if (outSize !== B * N * N)
    throw new ShapeError(`correlationOffDiagInPlace: out has ${outSize} elements, expected ${B}x${N}x${N}`);
  return [B, N, D];
}

/**
 * Which kernel forms a Gram product on the GPU: 'symmetric' (default; gram-program.ts, N <= 64,
 * larger N take the matmul) or 'matmul' (the generic matmul with transB, the kernel before the
 * symmetric one: kept for A/B runs, e.g. the bench's correlation case). Both give the same bits.
 * The CPU backend has one kernel (the addon's symmetric gramRows) and reads neither.
 */
export type GramKernel = 'symmetric' | 'matmul';

export interface GramOptions {
  kernel?: GramKernel;
}

/** gram: z [B, N, D] or [N, D], and out (where given) of B x N x N elements. */
export function gramDims(zShape: readonly number[], outSize?: number): [number, number, number] {
  const [B, N, D] = zShape.length === 3 ? zShape : zShape.length === 2 ? [1, ...zShape] : [];
  if (B === undefined || N === undefined || D === undefined) {
    throw new ShapeError(`gram: z must be [B, N, D] or [N, D], got ${shapeStr(zShape)}`);
  }
  if (outSize !== undefined && outSize !== B * N * N) {
    throw new ShapeError(`gram: out has ${outSize} elements, expected ${B}x${N}x${N}`);
  }
  return [B, N, D];
}

export function checkNormalizeRows(rows: number, D: number, size: number): void {
  if (rows * D > size) throw new ShapeError(`normalizeRowsInPlace: ${rows}x${D} exceeds the tensor's ${size} elements`);
}
