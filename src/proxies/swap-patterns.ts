/**
 * SWAP (Peng et al., ICLR 2024): the number of distinct sample-wise activation patterns. A
 * neuron is one feature (channel, y, x) of one ReLU; its pattern is the N bits [x_i > 0] over
 * the batch's samples i (the authors' sign of the ReLU's output, which is 0 or 1); the score is
 * the count of distinct patterns over every neuron of every ReLU, exactly.
 *
 * Device side: per ReLU record, codes s = sign codes (+-1) of [N, D] and M = s^T P with P [N, W]
 * holding 2^(i mod 8) in column floor(i / 8): row j of M is neuron j's pattern, 8 samples to a
 * column, as exact integers in [-255, 255] (sums of at most 8 distinct powers of two stay exact
 * in f16, bf16 or TF32 products as well as f32, in any summation order, so both backends give the
 * same values). Only D x ceil(N/8) values come back instead of D x N.
 * Host side: the exact distinct count, with an open-addressing hash set over the packed patterns
 * (ceil(N/32) u32 words each): exact distinct counting of ~10^6 keys on a GPU needs a sort
 * or a hash table with atomics, and the packed patterns are already small; the count is O(D).
 * Any N works (more words per key); NB201's default batch of 64 is two words.
 */
import { type Backend, type Tensor } from '../backend/index.js';
import { checkBatch, type CorrRecord, featuresOf } from './correlation-proxies.js';

const BITS = 8;

/** Columns of P for batch n: ceil(n / 8). */
export const patternColumns = (n: number) => Math.ceil(n / BITS);

/** P [n, W]: 2^(i mod 8) at (i, floor(i / 8)), else 0. */
export function packMatrix(n: number): Float32Array {
  const W = patternColumns(n);
  const p = new Float32Array(n * W);
  for (let i = 0; i < n; i++) p[i * W + Math.floor(i / BITS)] = 2 ** (i % BITS);
  return p;
}

/** Values of M per read: bounded so one output buffer fits every device's largest tensor. */
const MAX_OUT_ELEMS = 8 * 1024 * 1024;

/**
 * Each architecture's packed neuron patterns: a Uint32Array of D_total * ceil(n/32) words (neuron
 * j's pattern in words [j*K, (j+1)*K), sample i at bit i mod 32 of word floor(i / 32)). A record
 * whose input tensor (and stacked slice) came earlier in the same architecture is skipped: its
 * neurons repeat patterns already there (NB201 feeds one node to several ops' ReLUs).
 */
export async function swapPatternsMany(
  backend: Backend,
  archRelus: readonly (readonly CorrRecord[])[],
  n: number,
): Promise<Uint32Array[]> {
  checkBatch(n, 'swapPatternsMany');
  const W = patternColumns(n);
  const K = Math.ceil(n / 32);
  const outCap = Math.max(W, Math.min(MAX_OUT_ELEMS, Math.floor(backend.limits.maxTensorBytes / 4)));
  const P = backend.upload(packMatrix(n), [n, W]);
  // colsum of column w: M = s^T P = 2 b^T P - colsum, so the byte is (M + colsum) / 2.
  const colsum = Array.from({ length: W }, (_, w) => 2 ** Math.min(BITS, n - w * BITS) - 1);
  try {
    const result: Uint32Array[] = [];
    for (const relus of archRelus) {
      const seen = new Map<Tensor, Set<number>>();
      const recs: Array<{ r: CorrRecord; d: number }> = [];
      for (const r of relus) {
        const d = featuresOf(r, r.input, n, 'input');
        const idx = r.stacked?.index ?? 0;
        const s = seen.get(r.input) ?? new Set<number>();
        seen.set(r.input, s);
        if (s.has(idx)) continue;
        s.add(idx);
        recs.push({ r, d });
      }
      const total = recs.reduce((a, { d }) => a + d, 0);
      const words = new Uint32Array(total * K);
      let neuron = 0;
      // Records in chunks of at most outCap values of M, each chunk one read.
      for (let i = 0; i < recs.length;) {
        let elems = 0;
        const chunk: typeof recs = [];
        while (i < recs.length && (chunk.length === 0 || elems + recs[i].d * W <= outCap)) {
          chunk.push(recs[i]);
          elems += recs[i].d * W;
          i++;
        }
        const out = backend.empty([elems]);
        try {
          let off = 0;
          for (const { r, d } of chunk) {
            const s = signCodesOf(backend, r, n, d);
            const m = backend.ops.matmul(s, P, { transA: true });
            s.dispose();
            backend.copy(m, out, d * W, 0, off);
            m.dispose();
            off += d * W;
          }
          const vals = await out.read();
          for (let j = 0; j < elems / W; j++, neuron++) {
            for (let w = 0; w < W; w++) {
              const byte = (vals[j * W + w] + colsum[w]) / 2;
              words[neuron * K + (w >> 2)] |= byte << (8 * (w & 3));
            }
          }
        } finally {
          out.dispose();
        }
      }
      result.push(words);
    }
    return result;
  } finally {
    P.dispose();
  }
}

/** Sign codes (+1 where x > 0, else -1) of a record's [n, d] matrix (a stacked record's slice gathered first). */
function signCodesOf(backend: Backend, r: CorrRecord, n: number, d: number): Tensor {
  if (!r.stacked) return backend.ops.signCodes(r.input.view([n, d]));
  const { groups, index } = r.stacked;
  const x = backend.empty([n, d]);
  const offsets = new Array<number>(groups).fill(-1);
  offsets[index] = 0;
  backend.ops.unstackGroups(x, r.input, { rows: n, groups, offsets });
  backend.ops.signCodesInPlace(x, n * d);
  return x;
}

/** Distinct keys of `width` u32 words in `words` (exact: open addressing, keys compared word by word). */
export function countDistinct(words: Uint32Array, width: number): number {
  const count = words.length / width;
  if (!Number.isInteger(count)) throw new RangeError(`countDistinct: ${words.length} words are not keys of ${width}`);
  if (count === 0) return 0;
  let cap = 1;
  while (cap < 2 * count) cap *= 2;
  const mask = cap - 1;
  // table[slot] = key index + 1 (0: empty).
  const table = new Uint32Array(cap);
  let distinct = 0;
  for (let k = 0; k < count; k++) {
    const base = k * width;
    let h = 0x9e3779b9;
    for (let w = 0; w < width; w++) {
      h = Math.imul(h ^ words[base + w], 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    h ^= h >>> 16;
    let slot = h & mask;
    for (;;) {
      const e = table[slot];
      if (e === 0) {
        table[slot] = k + 1;
        distinct++;
        break;
      }
      const ob = (e - 1) * width;
      let same = true;
      for (let w = 0; w < width && same; w++) same = words[ob + w] === words[base + w];
      if (same) break;
      slot = (slot + 1) & mask;
    }
  }
  return distinct;
}

/** The SWAP count of each architecture. */
export async function swapCountsMany(
  backend: Backend,
  archRelus: readonly (readonly CorrRecord[])[],
  n: number,
): Promise<number[]> {
  const pats = await swapPatternsMany(backend, archRelus, n);
  const K = Math.ceil(n / 32);
  return pats.map((p) => countDistinct(p, K));
}
