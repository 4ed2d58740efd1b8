/**
 * The TypeScript reference of synflowSeed (shaders/synflow_seed.wgsl): the same checks on the bits
 * and the same f32 sum of the logits, so a parity test can hold the kernel to it.
 */
import { ShapeError } from '../../gpu/errors.js';

/** status[0] codes other than a shift b (|b| <= maxShift): what the host does instead. */
export const SYNFLOW_SEED_CODES = {
  /** A logit or feature is Inf or NaN: redo the forward at a = maxShift. */
  redoAtMax: 1000,
  /** The feature map is all zero: redo the forward at a = 0. */
  redoAtZero: 1001,
  /** Read the forward and decide on the host. */
  host: 1002,
} as const;

interface Sized {
  readonly size: number;
}

/** Validates synflowSeed's operands: seed as large as the logits, status at least one element. */
export function checkSynflowSeed(logits: Sized, features: Sized, seed: Sized, status: Sized, maxShift: number): void {
  if (logits.size === 0 || features.size === 0) throw new ShapeError('synflowSeed: logits and features must not be empty');
  if (seed.size !== logits.size)
    throw new ShapeError(`synflowSeed: seed must have the logits' ${logits.size} elements, got ${seed.size}`);
  if (status.size < 1) throw new ShapeError('synflowSeed: status must hold one element');
  if (!Number.isInteger(maxShift) || maxShift < 1 || maxShift > 126)
    throw new RangeError(`synflowSeed: maxShift must be an integer in 1..126, got ${maxShift}`);
}

const f32 = Math.fround;
const bitsOf = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0];
const binade = (x: number): number => ((bitsOf(x) >>> 23) & 0xff) - 127;

/** The flags the kernel ORs over a tensor: any Inf/NaN, any nonzero, any negative nonzero (-0 is a zero). */
function flags(v: Float32Array): { nonfinite: boolean; nonzero: boolean; negative: boolean } {
  const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
  const out = { nonfinite: false, nonzero: false, negative: false };
  for (const b of bits) {
    if ((b & 0x7f800000) === 0x7f800000) out.nonfinite = true;
    if ((b & 0x7fffffff) !== 0) {
      out.nonzero = true;
      if (b >>> 31) out.negative = true;
    }
  }
  return out;
}

/** status[0] as the kernel computes it (the seed is 2^-status where status <= maxShift, else 0). */
export function synflowSeedCpu(logits: Float32Array, features: Float32Array, maxShift: number): number {
  const f = flags(features);
  const l = flags(logits);
  if (f.nonfinite || l.nonfinite) return SYNFLOW_SEED_CODES.redoAtMax;
  // The host's order: out of range, then a feature map that sums to 0 (all zero: no negative to cancel), then R'.
  if (!f.nonzero) return SYNFLOW_SEED_CODES.redoAtZero;
  if (f.negative || l.negative) return SYNFLOW_SEED_CODES.host;
  let s = 0;
  for (const x of logits) s = f32(s + x);
  if (!(s >= 2 ** -maxShift) || !Number.isFinite(s)) return SYNFLOW_SEED_CODES.host;
  const k = binade(s);
  const d = f32(logits.length + 1) * 2 ** -19;
  const lo = f32(s - f32(s * d));
  const hi = f32(s + f32(s * d));
  if (d >= 0.5 || binade(lo) !== k || binade(hi) !== k || k > maxShift) return SYNFLOW_SEED_CODES.host;
  return k;
}
