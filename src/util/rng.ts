/** Seeded PRNG (mulberry32 + Box-Muller). Passed explicitly: nothing in wgnas uses Math.random. */

/** A generator's position: its uint32 state and the Gaussian it holds back (Box-Muller makes two). */
export interface RngSnapshot {
  s: number;
  spare: number | null;
}

/** A well-formed snapshot: a uint32 state and null or a finite spare (a checkpoint's, checked before use). */
export function isRngSnapshot(v: unknown): v is RngSnapshot {
  const r = v as Partial<RngSnapshot> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    Number.isInteger(r.s) &&
    r.s! >= 0 &&
    r.s! <= 0xffffffff &&
    (r.spare === null || Number.isFinite(r.spare))
  );
}

export class Rng {
  private s: number;
  private spare: number | null = null;

  constructor(seed: number) {
    // NaN, 1.5 or '7' would quietly become another seed (NaN and 'x' the same one as 0).
    if (typeof seed !== 'number' || !Number.isInteger(seed))
      throw new TypeError(`Rng: seed must be an integer, got ${String(seed)} (${typeof seed})`);
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  /** A generator continuing from a raw state (Rng.skip's return; a seed of 0 is not state 0). */
  static fromState(state: number): Rng {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
      throw new RangeError(`Rng.fromState: generator state must be a uint32, got ${state}`);
    }
    const r = new Rng(1);
    r.s = state;
    return r;
  }

  /** The whole position (state and the Gaussian spare), for a checkpoint: `restore` continues from it exactly. */
  snapshot(): RngSnapshot {
    return { s: this.s, spare: this.spare };
  }

  /** Continues from a snapshot (a checkpointed run's position). */
  restore(snap: RngSnapshot): void {
    if (!isRngSnapshot(snap))
      throw new RangeError(`Rng.restore: not a generator snapshot: ${JSON.stringify(snap)?.slice(0, 60)}`);
    this.s = snap.s;
    this.spare = snap.spare;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick from an empty list');
    return items[this.int(items.length)];
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** Array of n normals times scale. */
  normals(n: number, scale = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * scale;
    return out;
  }

  /**
   * n values (next() * 2 - 1) * scale, uniform in [-scale, scale): the values of n next() calls,
   * with the state kept in a local (network initialisation draws ~1M of these per network).
   */
  uniforms(n: number, scale: number): Float32Array {
    const out = new Float32Array(n);
    let s = this.s;
    for (let i = 0; i < n; i++) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
    }
    this.s = s;
    return out;
  }

  /**
   * Skips the n next() calls that uniforms(n, ...) makes and returns the state before them: what a
   * generator elsewhere (the uniformFill op) continues from to draw the same n values.
   */
  skip(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Rng.skip: n must be a non-negative integer, got ${n}`);
    const before = this.s;
    // n steps of s += 0x6d2b79f5 (mod 2^32): Math.imul gives n C mod 2^32 exactly.
    this.s = (before + Math.imul(n, 0x6d2b79f5)) >>> 0;
    return before;
  }

  /** A child generator with an independent stream (for reproducible sub-tasks). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
}
