/** Helpers shared by the benchmark entries. */
import { Rng } from '../../util/rng.js';
import type { Shape } from '../registry.js';

/** A seed derived from the shape, so every run of a shape sees the same data. */
export function shapeSeed(name: string, shape: Shape): number {
  let h = 2166136261;
  for (const ch of `${name}:${JSON.stringify(shape)}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** Uniform values in [-1, 1): cheaper than normals for the multi-hundred-MB inputs of large sweeps. */
export function uniforms(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 2 * rng.next() - 1;
  return out;
}

export function rngFor(name: string, shape: Shape): Rng {
  return new Rng(shapeSeed(name, shape));
}
