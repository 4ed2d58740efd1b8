/** Zero-cost proxy accumulations, ProxylessNAS gates and AutoSpace fitness. (Part of src/kernels/params.ts, which re-exports every file here.) */
import { ShapeError } from '../../gpu/errors.js';
import { assertUnaliased, type SameStorage, shapeStr, sameShape, type Shaped, type Sized } from './common.js';

// ---- proxy accumulations ----------------------------------------------------------------------------

export interface BatchedAccumulateOptions {
  /** Matrix size N: dst holds [slots * outs, N, N], src [L, N, N] (at least). */
  n: number;
  slots: number;
  /** Per layer of src (sorted by slot): its slot in [0, slots) and weight. */
  layerSlots: readonly number[];
  weights: readonly number[];
  /** outs 3: per layer, the weight of the third sum. */
  weights2?: readonly number[];
  /**
   * 2: also add the unweighted sum into the matrix after each slot's weighted one; 3: and the sum
   * weighted by weights2 into the one after that. Default 1.
   */
  outs?: 1 | 2 | 3;
  /** Add |C| (default) or C. */
  abs?: boolean;
  /** Count every diagonal entry as exactly 1 (correlation Gram products without set_diag). */
  unitDiagonal?: boolean;
  /**
   * A layer with a diagonal entry below 1/2 adds nothing: in a Gram product of unit rows that is a
   * constant row's zero row, whose correlations are undefined (WRCor skips such a matrix).
   */
  skipConstant?: boolean;
}

// ---- proxy ops (checks) -------------------------------------------------------------------------------

export function checkAccumulateAbs(dstSize: number, srcSize: number): void {
  if (dstSize !== srcSize) throw new ShapeError(`accumulateAbs: ${dstSize} vs ${srcSize} elements`);
}

/** accumulateAbsBatched's sizes; returns outs and the layer count L. */
export function batchedAccumulateDims(
  dstSize: number,
  srcSize: number,
  o: BatchedAccumulateOptions,
): { outs: 1 | 2 | 3; L: number } {
  const { n, slots } = o;
  const outs = o.outs ?? 1;
  const L = o.layerSlots.length;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(slots) || slots < 1) {
    throw new ShapeError(`accumulateAbsBatched: bad n=${n} or slots=${slots}`);
  }
  if (dstSize < slots * outs * n * n)
    throw new ShapeError(`accumulateAbsBatched: dst has ${dstSize} elements, needs ${slots}x${outs}x${n}x${n}`);
  if (srcSize < L * n * n) throw new ShapeError(`accumulateAbsBatched: src has ${srcSize} elements, needs ${L}x${n}x${n}`);
  if ((outs === 3) !== (o.weights2 !== undefined))
    throw new RangeError('accumulateAbsBatched: weights2 goes with outs 3, and only with it');
  if (o.weights2 && o.weights2.length !== L)
    throw new ShapeError(`accumulateAbsBatched: ${L} layer slots but ${o.weights2.length} weights2`);
  return { outs, L };
}

/** One weight per layer, every layer's slot in [0, slots), layers sorted by slot. */
export function checkBatchedLayers(slots: number, layerSlots: readonly number[], weights: readonly number[]): void {
  const L = layerSlots.length;
  if (weights.length !== L) throw new ShapeError(`accumulateAbsBatched: ${L} layer slots but ${weights.length} weights`);
  for (let l = 0; l < L; l++) {
    const s = layerSlots[l];
    if (!Number.isInteger(s) || s < 0 || s >= slots)
      throw new RangeError(`accumulateAbsBatched: layer ${l} has slot ${s}, not in [0, ${slots})`);
    if (l > 0 && s < layerSlots[l - 1]) throw new RangeError('accumulateAbsBatched: layers must be sorted by slot');
  }
}

export interface UnstackGroupsOptions {
  /** Rows of src (the batch N). */
  rows: number;
  /** Groups per row: src is [rows, groups, features] (a channel-stacked tensor [N, G*C, H, W]). */
  groups: number;
  /** Per group, the element offset in dst of its contiguous [rows, features] block; -1 skips the group. */
  offsets: readonly number[];
}

/** unstackGroups' sizes; returns the features per group and row. */
export function unstackGroupsDims(dstSize: number, srcSize: number, o: UnstackGroupsOptions): { features: number } {
  const { rows, groups, offsets } = o;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(groups) || groups < 1) {
    throw new ShapeError(`unstackGroups: bad rows=${rows} or groups=${groups}`);
  }
  const features = srcSize / (rows * groups);
  if (!Number.isInteger(features))
    throw new ShapeError(`unstackGroups: src of ${srcSize} elements is not ${rows} x ${groups} x F`);
  if (offsets.length !== groups) throw new ShapeError(`unstackGroups: ${groups} groups but ${offsets.length} offsets`);
  offsets.forEach((off, g) => {
    if (off === -1) return;
    if (!Number.isInteger(off) || off < 0)
      throw new RangeError(`unstackGroups: offset ${g} is ${off}, not -1 or a non-negative integer`);
    if (off + rows * features > dstSize) {
      throw new ShapeError(
        `unstackGroups: group ${g}'s block [${off}, ${off + rows * features}) exceeds dst of ${dstSize} elements`,
      );
    }
  });
  return { features };
}

// ---- ProxylessNAS gates and AutoSpace fitness (checks) -----------------------------------------------

export function checkGateDot(a: Shaped & Sized, b: Shaped & Sized, outSize: number, index: number): void {
  if (a.size !== b.size) {
    throw new ShapeError(`gateDot: operands differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= outSize) {
    throw new RangeError(`gateDot: index ${index} is outside out (${outSize} elements)`);
  }
}

/**
 * gateDotMany's operands (both backends): pairs as gateDot checks them, one index each, no index
 * twice (their order of writing would then matter), out none of the inputs (`storage` keys a tensor's buffer).
 */
export function checkGateDotMany<T extends Shaped & Sized>(
  a: readonly T[],
  b: readonly T[],
  out: T,
  indices: readonly number[],
  storage: (t: T) => unknown,
): void {
  if (b.length !== a.length || indices.length !== a.length) {
    throw new RangeError(`gateDotMany: ${a.length} a, ${b.length} b and ${indices.length} indices`);
  }
  a.forEach((t, j) => checkGateDot(t, b[j], out.size, indices[j]));
  if (new Set(indices).size !== indices.length) throw new RangeError('gateDotMany: an index appears twice');
  const o = storage(out);
  if ([...a, ...b].some((t) => storage(t) === o)) throw new RangeError('gateDotMany: out is one of the operands');
}

/** The WGSL fitness kernels' tuning knobs (validated on every backend). wg: power of two <= 256. */
export function checkFitnessOpts(op: string, wg: number, items: number): void {
  if (!Number.isInteger(wg) || wg < 1 || wg > 256 || (wg & (wg - 1)) !== 0) {
    throw new RangeError(`${op}: workgroup size must be a power of two in [1, 256], got ${wg}`);
  }
  if (!Number.isInteger(items) || items < 1) throw new RangeError(`${op}: items must be a positive integer, got ${items}`);
}

/** φ or probs: a 1-D tensor of K >= 1 entries (exactly k when given). */
export function assertVector(op: string, name: string, t: Shaped, k?: number): void {
  if (t.shape.length !== 1 || t.shape[0] < 1 || (k !== undefined && t.shape[0] !== k)) {
    const want = k === undefined ? '[K] with K >= 1' : `[${k}]`;
    throw new ShapeError(`${op}: ${name} must have shape ${want}, got ${shapeStr(t.shape)}`);
  }
}

export function assertCandidateIndex(op: string, k: number, K: number): void {
  if (!Number.isInteger(k) || k < 0 || k >= K) throw new RangeError(`${op}: candidate index ${k} is outside [0, ${K})`);
}

/** A mixture: >= 1 outputs of identical shape and a [K] logits/probs vector. */
export function assertMixture(op: string, outs: ReadonlyArray<Shaped>, weights: Shaped): void {
  if (outs.length < 1) throw new ShapeError(`${op}: needs at least one candidate output`);
  for (let k = 1; k < outs.length; k++) {
    if (!sameShape(outs[k].shape, outs[0].shape)) {
      throw new ShapeError(
        `${op}: candidate ${k} has shape ${shapeStr(outs[k].shape)}, candidate 0 has ${shapeStr(outs[0].shape)}`,
      );
    }
  }
  assertVector(op, 'logits', weights, outs.length);
}

/** mixAccumulate: y and o of one shape, a [K] probs vector, k in range. */
export function checkMixAccumulate(y: Shaped, o: Shaped, probs: Shaped & Sized, k: number): void {
  const op = 'mixAccumulate';
  if (!sameShape(y.shape, o.shape)) throw new ShapeError(`${op}: y ${shapeStr(y.shape)} and o ${shapeStr(o.shape)} differ`);
  assertVector(op, 'probs', probs);
  assertCandidateIndex(op, k, probs.size);
}

/**
 * mixBackwardMany (both backends): a mixture's outputs, one dOut (or null) per candidate, each pair
 * as mixBackward checks it, and no written tensor (a dOut, gDots) sharing storage with another
 * operand of the call (`same`).
 */
export function checkMixBackwardMany<T extends Shaped & Sized>(
  outs: readonly T[],
  dy: T,
  probs: T,
  dOuts: ReadonlyArray<T | null>,
  gDots: T | null,
  same: SameStorage<T>,
): void {
  const op = 'mixBackwardMany';
  assertMixture(op, outs, probs);
  if (dOuts.length !== outs.length) throw new RangeError(`${op}: ${dOuts.length} dOuts for ${outs.length} candidates`);
  outs.forEach((o, k) => checkMixBackward(o, dy, probs, k, dOuts[k], gDots));
  const inputs: Array<[string, T]> = [...outs.map((o, k): [string, T] => [`outs[${k}]`, o]), ['dy', dy], ['probs', probs]];
  const written: Array<[string, T]> = dOuts.flatMap((d, k): Array<[string, T]> => (d ? [[`dOuts[${k}]`, d]] : []));
  if (gDots) written.push(['gDots', gDots]);
  assertUnaliased(op, written, inputs, same);
}

/** mixBackward: o, dy (and dOut) of one shape, [K] probs (and gDots), k in range. */
export function checkMixBackward(
  o: Shaped,
  dy: Shaped,
  probs: Shaped & Sized,
  k: number,
  dOut: Shaped | null,
  gDots: Shaped | null,
): void {
  const op = 'mixBackward';
  if (!sameShape(o.shape, dy.shape)) throw new ShapeError(`${op}: o ${shapeStr(o.shape)} and dy ${shapeStr(dy.shape)} differ`);
  if (dOut && !sameShape(dOut.shape, o.shape))
    throw new ShapeError(`${op}: dOut ${shapeStr(dOut.shape)} does not match o ${shapeStr(o.shape)}`);
  assertVector(op, 'probs', probs);
  if (gDots) assertVector(op, 'gDots', gDots, probs.size);
  assertCandidateIndex(op, k, probs.size);
}
