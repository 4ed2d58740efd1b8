/** Optimiser steps: SGD and Adam options and their checks. (Part of src/kernels/params.ts, which re-exports every file here.) */
import { ShapeError } from '../../gpu/errors.js';
import { assertUnaliased, type SameStorage, type Sized } from './common.js';

// ---- optimiser steps ------------------------------------------------------------------------------

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 1-based step count (bias correction). */
  step: number;
}

// ---- optimiser steps (checks) -------------------------------------------------------------------------

function sameSize(op: string, ts: Record<string, { readonly size: number }>): void {
  const names = Object.keys(ts);
  const n = ts[names[0]].size;
  for (const k of names) {
    if (ts[k].size !== n) throw new ShapeError(`${op}: ${k} has ${ts[k].size} elements, ${names[0]} has ${n}`);
  }
}

function checkFinite(op: string, o: Record<string, number | undefined>): void {
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && !Number.isFinite(v)) throw new RangeError(`${op}: ${k} must be finite, got ${v}`);
  }
}

/** sgdStep's operands and options; returns momentum and dampening with their defaults. */
export function sgdStepParams(w: Sized, grad: Sized, buf: Sized, o: SgdOptions): { momentum: number; dampening: number } {
  sameSize('sgdStep', { w, grad, buf });
  checkFinite('sgdStep', { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay });
  const momentum = o.momentum ?? 0;
  const dampening = o.dampening ?? 0;
  if (o.nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError('sgdStep: Nesterov momentum needs momentum > 0 and dampening 0');
  }
  return { momentum, dampening };
}

/** adamStep's operands and options; returns the betas, eps and the bias corrections folded in. */
export function adamStepParams(
  w: Sized,
  grad: Sized,
  m: Sized,
  v: Sized,
  o: AdamOptions,
): { beta1: number; beta2: number; eps: number; lrCorrected: number; sqrtBc2: number } {
  sameSize('adamStep', { w, grad, m, v });
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  checkFinite('adamStep', { lr: o.lr, beta1, beta2, eps, weightDecay: o.weightDecay });
  if (!Number.isInteger(o.step) || o.step < 1) throw new RangeError(`adamStep: step must be an integer >= 1, got ${o.step}`);
  if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) throw new RangeError('adamStep: betas must lie in [0, 1)');
  const bc1 = 1 - beta1 ** o.step;
  const bc2 = 1 - beta2 ** o.step;
  return { beta1, beta2, eps, lrCorrected: o.lr / bc1, sqrtBc2: Math.sqrt(bc2) };
}

/** sgdStep writes w and buf and reads grad: none may share storage with another. */
export function assertSgdUnaliased<T>(w: T, grad: T, buf: T, same: SameStorage<T>): void {
  assertUnaliased(
    'sgdStep',
    [
      ['w', w],
      ['buf', buf],
    ],
    [['grad', grad]],
    same,
  );
}

/** adamStep writes w, m and v and reads grad: none may share storage with another. */
export function assertAdamUnaliased<T>(w: T, grad: T, m: T, v: T, same: SameStorage<T>): void {
  assertUnaliased(
    'adamStep',
    [
      ['w', w],
      ['m', m],
      ['v', v],
    ],
    [['grad', grad]],
    same,
  );
}

/** sgdStepMany's shared momentum settings and its per-tensor learning rates and weight decays. */
export interface SgdManyOptions {
  lr: readonly number[];
  weightDecay: readonly number[];
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

/**
 * sgdStepMany's operands (both backends): one lr and weight decay per tensor, each triple as
 * sgdStep checks it, and no storage twice among all of them (`storage` keys a tensor's buffer).
 * Returns momentum and dampening with their defaults.
 */
export function checkSgdMany<T extends Sized>(
  w: readonly T[],
  grad: readonly T[],
  buf: readonly T[],
  o: SgdManyOptions,
  storage: (t: T) => unknown,
): { momentum: number; dampening: number } {
  const n = w.length;
  if (grad.length !== n || buf.length !== n || o.lr.length !== n || o.weightDecay.length !== n) {
    throw new RangeError(
      `sgdStepMany: ${n} weights, ${grad.length} gradients, ${buf.length} buffers, ${o.lr.length} learning rates and ${o.weightDecay.length} weight decays`,
    );
  }
  // The shared settings once; per tensor what sgdStep would check (its messages), without its
  // option objects: this runs on every training step, over every parameter.
  const one = { size: 1 };
  const r = sgdStepParams(one, one, one, { ...o, lr: 0, weightDecay: 0 });
  const seen = new Set<unknown>();
  for (let j = 0; j < n; j++) {
    const size = w[j].size;
    if (grad[j].size !== size) throw new ShapeError(`sgdStep: grad has ${grad[j].size} elements, w has ${size}`);
    if (buf[j].size !== size) throw new ShapeError(`sgdStep: buf has ${buf[j].size} elements, w has ${size}`);
    if (!Number.isFinite(o.lr[j])) throw new RangeError(`sgdStep: lr must be finite, got ${o.lr[j]}`);
    if (!Number.isFinite(o.weightDecay[j])) throw new RangeError(`sgdStep: weightDecay must be finite, got ${o.weightDecay[j]}`);
    for (const t of [w[j], grad[j], buf[j]]) {
      const s = storage(t);
      if (seen.has(s)) throw new RangeError('sgdStepMany: a tensor appears twice among the weights, gradients and buffers');
      seen.add(s);
    }
  }
  return r;
}

/** One row of adamStepRows: elements [offset, offset + size) of the flat tensors, at Adam step `step`. */
export interface AdamRow {
  offset: number;
  size: number;
  step: number;
}

/**
 * adamStepRows' operands (both backends): four tensors of one size, none aliased (`same`), rows
 * inside them and apart, each step as adamStep checks it. Returns each row's bias-corrected lr and
 * sqrt(bias correction 2), and the betas and eps.
 */
export function checkAdamRows<T extends Sized>(
  w: T,
  grad: T,
  m: T,
  v: T,
  rows: readonly AdamRow[],
  o: Omit<AdamOptions, 'step'>,
  same: SameStorage<T>,
): { beta1: number; beta2: number; eps: number; rows: Array<{ lrCorrected: number; sqrtBc2: number }> } {
  sameSize('adamStepRows', { w, grad, m, v });
  assertUnaliased(
    'adamStepRows',
    [
      ['w', w],
      ['m', m],
      ['v', v],
    ],
    [['grad', grad]],
    same,
  );
  const taken = rows
    .map((r) => {
      if (!Number.isInteger(r.offset) || !Number.isInteger(r.size) || r.offset < 0 || r.size < 0 || r.offset + r.size > w.size) {
        throw new RangeError(`adamStepRows: row [${r.offset}, ${r.offset + r.size}) is not inside ${w.size} elements`);
      }
      return r;
    })
    .filter((r) => r.size > 0)
    .sort((a, b) => a.offset - b.offset);
  taken.forEach((r, i) => {
    if (i > 0 && r.offset < taken[i - 1].offset + taken[i - 1].size) throw new RangeError('adamStepRows: rows overlap');
  });
  const one = { size: 1 };
  const per = rows.map((r) => adamStepParams(one, one, one, one, { ...o, step: r.step }));
  const { beta1, beta2, eps } = per[0] ?? adamStepParams(one, one, one, one, { ...o, step: 1 });
  return { beta1, beta2, eps, rows: per.map(({ lrCorrected, sqrtBc2 }) => ({ lrCorrected, sqrtBc2 })) };
}
