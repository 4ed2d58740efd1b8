/**
 * Binding a backend's op implementations to its device under the OPS names, with one guard: every
 * tensor an op receives (directly, in an array, or in an options object such as matmul's `out`)
 * must belong to this backend's device, else a ForeignTensorError says whose it is instead of a
 * crash deep inside Dawn or the addon, and must not be disposed (a DisposedTensorError, before
 * the op allocates its output).
 */
import { OP_NAMES, type OpName } from '../kernels/ops.js';
import type { BackendOps } from './backend.js';
import { assertLive, ForeignTensorError, type Tensor } from './tensor.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an op's arguments differ per op
type AnyImpl = (ctx: any, ...args: any[]) => unknown;

function isTensorLike(v: unknown): v is { shape: readonly number[] } {
  return typeof v === 'object' && v !== null && 'shape' in v && typeof (v as { read?: unknown }).read === 'function';
}

/** Calls `check` on every tensor among an op's arguments (one level into arrays and plain objects). */
function eachTensor(args: readonly unknown[], check: (t: unknown) => void): void {
  for (const a of args) {
    if (typeof a !== 'object' || a === null) continue;
    if (isTensorLike(a)) check(a);
    else if (Array.isArray(a)) a.filter(isTensorLike).forEach(check);
    else if (Object.getPrototypeOf(a) === Object.prototype) Object.values(a).filter(isTensorLike).forEach(check);
  }
}

/**
 * ops[name] = (...args) => impls[name](ctx, ...args), after `owns` accepted every tensor argument.
 * `backend` names this backend in the error.
 */
export function bindOps(
  backend: string,
  impls: Readonly<Record<OpName, AnyImpl>>,
  ctx: unknown,
  owns: (t: unknown) => boolean,
): BackendOps {
  const check = (op: string) => (t: unknown) => {
    if (!owns(t)) {
      const what = (t as { constructor?: { name?: string } }).constructor?.name ?? 'tensor';
      throw new ForeignTensorError(
        `${op}: a ${what} [${(t as { shape: number[] }).shape.join(', ')}] does not belong to this ${backend} backend`,
      );
    }
    assertLive(t as Tensor, op);
  };
  const ops: Record<string, (...args: unknown[]) => unknown> = {};
  for (const name of OP_NAMES) {
    const impl = impls[name];
    if (typeof impl !== 'function') throw new Error(`${backend} backend: no implementation of '${name}'`);
    const guard = check(name);
    ops[name] = (...args: unknown[]) => {
      eachTensor(args, guard);
      return impl(ctx, ...args);
    };
  }
  return Object.freeze(ops) as unknown as BackendOps;
}
