/** Per-step seeds: every random draw of a search is keyed by (seed, phase, step), so a resumed run repeats it. */

/** A 32-bit mix of integers (splitmix-style); never 0, which Rng would reject. */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0 || 1;
}
