/**
 * Proxies built from per-ReLU N x N matrices over the batch, all computed on the backend and summed
 * in place so only the final N x N matrices come back to the CPU.
 *
 * WRCor: K = sum over ReLUs r of 2^module(r) * (|corr(pre-activations_r)| + |corr(dL/dpre-activations_r)|),
 * score = log|det K| (module: ReluPlace, the authors' weights). Ablations: activation-only and
 * gradient-only (the same weights), unweighted (all weights 1); wrcor_stage weights by 2^stage(r)
 * (ReluPlace's block) instead. A correlation matrix with an undefined
 * row (a sample whose activations, or gradients, are constant over the ReLU's features: NaN in
 * the authors' np.corrcoef, which skip the matrix) adds nothing: the diagonal of a Gram product
 * of unit rows is ~1, of a constant row's zero row 0, and the accumulate skips a layer with a 0 there.
 * NASWOT: K = sum over ReLUs of (c c^T + (1-c)(1-c)^T) for the binary codes c = [x > 0]; score log|det K|.
 *
 * Batched path (wrcorScoresMany / naswotScoresMany): a per-ReLU chain of small dispatches is
 * dispatch-bound on a real GPU, so the tensors of every ReLU (of every architecture) with the same
 * feature count D are copied into one [L, N, D] arena and processed by one normalise (NASWOT: sign
 * codes), one batched Gram product and one weighted accumulate per arena chunk. The arena is bounded (arenaBytes), so a
 * large group runs in several chunks through the same buffers.
 *
 * A record may also be one network's slice of a channel-stacked network's ReLU (CorrRecord.stacked:
 * the tensor is [N, G*C, H, W], network g owns channels [g*C, (g+1)*C)): the slices of every
 * network of one stacked tensor in a chunk go into the arena in one unstackGroups dispatch, at the
 * places their own records would have been copied to, so the sums run in the same order.
 */
import { type Backend, ShapeError, type Tensor } from '../backend/index.js';
import { rowMeanScale } from '../kernels/reference/correlation.js';
import type { ReluRecord } from '../nn/tape.js';
import { logAbsDet } from './linalg.js';

export interface WrcorScores {
  wrcor: number;
  wrcor_act: number;
  wrcor_grad: number;
  wrcor_unweighted: number;
  wrcor_stage: number;
}

export interface BatchedProxyOptions {
  /**
   * Bound on one chunk's arena plus its correlation matrices, in bytes (default 64 MiB, capped by
   * the device's maxStorageBufferBindingSize). A single record larger than this runs alone.
   */
  arenaBytes?: number;
}

export const DEFAULT_ARENA_BYTES = 64 * 1024 * 1024;

/**
 * A ReLU record as the correlations read it: a network's own (a tape's ReluRecord), or network
 * `stacked.index`'s slice of a ReLU of `stacked.groups` channel-stacked networks (input and
 * gradInput the whole stacked tensors, [N, groups * D]).
 */
export interface CorrRecord extends ReluRecord {
  stacked?: StackedSlice;
}

export interface StackedSlice {
  groups: number;
  index: number;
}

/** One N x D matrix to reduce into output slot `slot` with weight `weight` (and `weight2`, outs 3). */
interface GramItem {
  slot: number;
  t: Tensor;
  d: number;
  weight: number;
  weight2?: number;
  stacked?: StackedSlice;
}

/**
 * Fills a chunk's arena: layer l gets item l's [n, d] matrix (a copy, or for the slices of a
 * stacked tensor one unstackGroups dispatch per tensor for all its slices in the chunk).
 */
function fillArena(backend: Backend, arena: Tensor, items: readonly GramItem[], n: number, d: number): void {
  // Per stacked tensor, its dispatches' offsets: a network may read one tensor twice (two convs
  // on one node's ReLU), each slice once per dispatch.
  const stacks = new Map<Tensor, number[][]>();
  items.forEach((it, l) => {
    if (!it.stacked) {
      backend.copy(it.t, arena, n * d, 0, l * n * d);
      return;
    }
    const { groups, index } = it.stacked;
    const calls = stacks.get(it.t) ?? [];
    stacks.set(it.t, calls);
    let offs = calls.find((o) => o[index] === -1);
    if (!offs) calls.push((offs = new Array<number>(groups).fill(-1)));
    offs[index] = l * n * d;
  });
  for (const [t, calls] of stacks) {
    for (const offsets of calls) backend.ops.unstackGroups(arena, t, { rows: n, groups: offsets.length, offsets });
  }
}

interface Chunk {
  d: number;
  items: GramItem[];
}

/** Groups items by D (slot-sorted within a group, as the accumulate kernel needs) and cuts arena-sized chunks. */
export function planChunks<T extends { slot: number; d: number }>(
  items: readonly T[],
  n: number,
  arenaBytes: number,
  maxLayers = 65535,
): Array<{ d: number; items: T[] }> {
  const groups = new Map<number, T[]>();
  for (const it of items) {
    const g = groups.get(it.d) ?? [];
    g.push(it);
    groups.set(it.d, g);
  }
  const chunks: Array<{ d: number; items: T[] }> = [];
  for (const [d, g] of [...groups].sort((a, b) => a[0] - b[0])) {
    g.sort((a, b) => a.slot - b.slot); // stable: record order within a slot
    // Arena [L, n, d] plus correlations [L, n, n] per chunk.
    const perLayerBytes = (d + n) * n * 4;
    const L = Math.max(1, Math.min(maxLayers, Math.floor(arenaBytes / perLayerBytes)));
    for (let i = 0; i < g.length; i += L) chunks.push({ d, items: g.slice(i, i + L) });
  }
  return chunks;
}

/**
 * Elements to allocate for `elems` of scratch: the next power of two, within `boundElems`. Every
 * group of networks brings its own count of ReLUs; sized exactly, each count left a buffer of its
 * own size in the device's pool (64 KiB buckets), which grew for the whole of a long run. In
 * power-of-two classes a run meets a handful of sizes. The kernels see windows of `elems`.
 */
export function scratchElems(elems: number, boundElems: number): number {
  const pow2 = 2 ** Math.ceil(Math.log2(Math.max(1, elems)));
  return Math.max(elems, Math.min(pow2, boundElems));
}

/**
 * The scratch accumulateGrams allocates for `chunks` (planChunks'): the arena (none where the
 * backend reads the records directly) and the chunk's correlation matrices, each rounded up to its
 * size class, the two together within arenaBytes (as planChunks sized them).
 */
export function gramScratch(
  chunks: ReadonlyArray<{ d: number; items: readonly unknown[] }>,
  n: number,
  arenaBytes: number,
  arena = true,
): { arenaElems: number; matsElems: number } {
  const arenaNeed = arena ? Math.max(...chunks.map((c) => c.items.length * n * c.d)) : 0;
  const matsNeed = Math.max(...chunks.map((c) => c.items.length * n * n));
  const arenaElems = arena ? scratchElems(arenaNeed, Math.floor(arenaBytes / 4) - matsNeed) : 0;
  return { arenaElems, matsElems: scratchElems(matsNeed, Math.floor(arenaBytes / 4) - arenaElems) };
}

/**
 * K[slot*outs (+1, +2)] = sum of weight * |corr(t)| ('corr', a matrix with a constant row skipped)
 * or weight * sign(t) sign(t)^T ('sign') over the items (outs 2: and unweighted, outs 3: and by
 * weight2), in a few grouped dispatches. Returns K as [slots * outs, n, n] (caller disposes).
 */
function accumulateGrams(
  backend: Backend,
  items: readonly GramItem[],
  n: number,
  slots: number,
  mode: 'corr' | 'sign',
  outs: 1 | 2 | 3,
  opts: BatchedProxyOptions,
): Tensor {
  const arenaBytes = Math.min(opts.arenaBytes ?? DEFAULT_ARENA_BYTES, backend.limits.maxTensorBytes);
  if (!(arenaBytes > 0)) throw new RangeError(`arenaBytes must be positive, got ${opts.arenaBytes}`);
  const maxLayers = backend.limits.maxBatchedLayers;
  const chunks: Chunk[] = planChunks(items, n, arenaBytes, maxLayers);
  const k = backend.zeros([slots * outs, n, n]);
  if (chunks.length === 0) return k;
  let ok = false;
  // The CPU backend normalises the rows as it reads them for the Gram product: no arena to fill
  // (plain records only: a stacked network's slices are strided, and unstackGroups gathers them).
  const direct = mode === 'corr' && !items.some((it) => it.stacked) ? backend.fused?.correlationsOffDiag : undefined;
  // One arena and one matrix stack serve every chunk: queue order keeps a chunk's copies behind
  // the previous chunk's reads, so memory stays at one chunk's worth.
  const { arenaElems, matsElems } = gramScratch(chunks, n, arenaBytes, !direct);
  const arena = direct ? null : backend.empty([arenaElems]);
  const mats = backend.empty([matsElems]);
  try {
    for (const { d, items: its } of chunks) {
      const L = its.length;
      const c = backend.window(mats, [L, n, n]);
      if (direct) {
        direct(
          its.map((it) => it.t),
          n,
          d,
          c,
        );
      } else if (arena) {
        fillArena(backend, arena, its, n, d);
        const x = backend.window(arena, [L, n, d]);
        if (mode === 'corr') {
          backend.ops.correlationOffDiagInPlace(x, c);
        } else {
          backend.ops.signCodesInPlace(arena, L * n * d);
          // The Gram op: on the GPU the symmetric program where it fits (half the products), the
          // matmul beyond; the sums of +-1 products are exact integers, so both give the same bits.
          backend.ops.gram(x, c);
        }
      }
      backend.ops.accumulateAbsBatched(k, c, {
        n,
        slots,
        outs,
        layerSlots: its.map((it) => it.slot),
        weights: its.map((it) => it.weight),
        weights2: outs === 3 ? its.map((it) => it.weight2 ?? 0) : undefined,
        abs: mode === 'corr',
        unitDiagonal: mode === 'corr',
        skipConstant: mode === 'corr',
      });
    }
    ok = true;
  } finally {
    arena?.dispose();
    mats.dispose();
    if (!ok) k.dispose();
  }
  return k;
}

/** Feature count of one record's tensor (its network's slice) for batch n; throws a ShapeError naming the record. */
export function featuresOf(r: CorrRecord, t: Tensor, n: number, what: string): number {
  const d = t.size / n / (r.stacked?.groups ?? 1);
  if (!Number.isInteger(d) || d < 1) {
    throw new ShapeError(`ReLU '${r.name}': ${what} of ${t.size} elements is not ${n} samples of D >= 1 features`);
  }
  return d;
}

export function checkBatch(n: number, fn: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${fn}: batch size must be a positive integer, got ${n}`);
}

const addF32 = (x: Float32Array, y: Float32Array) => x.map((v, i) => v + y[i]);

/** A tensor's values, disposed even where the read throws (a group that ran out of GPU memory is scored again). */
async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return await t.read();
  } finally {
    t.dispose();
  }
}

/** The summed N x N kernels of one network: activation and gradient terms, each three ways. */
interface WrcorKernels {
  /** Weighted by 2^module (ReluPlace's module: the ReLU's cell or block in network order). */
  act: Float32Array;
  grad: Float32Array;
  /** Unweighted. */
  actU: Float32Array;
  gradU: Float32Array;
  /** Weighted by 2^stage (ReluPlace's block). */
  actS: Float32Array;
  gradS: Float32Array;
}

/** The WRCor family from the summed N x N kernels. */
function wrcorFromKernels(k: WrcorKernels, n: number): WrcorScores {
  return {
    wrcor: logAbsDet(addF32(k.act, k.grad), n),
    wrcor_act: logAbsDet(k.act, n),
    wrcor_grad: logAbsDet(k.grad, n),
    wrcor_unweighted: logAbsDet(addF32(k.actU, k.gradU), n),
    wrcor_stage: logAbsDet(addF32(k.actS, k.gradS), n),
  };
}

/**
 * The WRCor family for several architectures at once (each entry: one network's ReLU records, after
 * backward so they carry gradInput; all with the same batch n). Records without gradInput (dead-end
 * ReLUs) contribute only their activation term; a matrix with a constant row (an all-zero gradient
 * among them) none. Correlations of all architectures share dispatches.
 */
export async function wrcorScoresMany(
  backend: Backend,
  archRelus: readonly (readonly CorrRecord[])[],
  n: number,
  opts: BatchedProxyOptions = {},
): Promise<WrcorScores[]> {
  checkBatch(n, 'wrcorScoresMany');
  const A = archRelus.length;
  if (A === 0) return [];
  const items: GramItem[] = [];
  archRelus.forEach((relus, a) => {
    for (const r of relus) {
      const d = featuresOf(r, r.input, n, 'input');
      const [weight, weight2] = [2 ** r.module, 2 ** r.block];
      items.push({ slot: 2 * a, t: r.input, d, weight, weight2, stacked: r.stacked });
      if (!r.gradInput) continue;
      if (r.gradInput.size !== r.input.size) {
        throw new ShapeError(`ReLU '${r.name}': gradInput has ${r.gradInput.size} elements, input ${r.input.size}`);
      }
      items.push({ slot: 2 * a + 1, t: r.gradInput, d, weight, weight2, stacked: r.stacked });
    }
  });
  // Slots: 2a = activations, 2a+1 = gradients of architecture a; each by 2^module, unweighted, by 2^block.
  const k = accumulateGrams(backend, items, n, 2 * A, 'corr', 3, opts);
  const km = await readAndDispose(k);
  const nn = n * n;
  const mat = (i: number) => km.subarray(i * nn, (i + 1) * nn);
  return archRelus.map((_, a) => {
    const [act, actU, actS, grad, gradU, gradS] = [0, 1, 2, 3, 4, 5].map((j) => mat(6 * a + j));
    return wrcorFromKernels({ act, grad, actU, gradU, actS, gradS }, n);
  });
}

/** The WRCor family from one network's ReLU records (the batched path with one architecture). */
export async function wrcorScores(
  backend: Backend,
  relus: readonly ReluRecord[],
  n: number,
  opts: BatchedProxyOptions = {},
): Promise<WrcorScores> {
  const [s] = await wrcorScoresMany(backend, [relus], n, opts);
  return s;
}

/** Whether one of the n rows of x ([n, d]) is constant, as normalize_rows decides it (rowMeanScale's 0). */
function hasConstantRow(x: ArrayLike<number>, n: number, d: number): boolean {
  for (let i = 0; i < n; i++) if (rowMeanScale(x, i * d, d).scale === 0) return true;
  return false;
}

/**
 * The original per-ReLU path (about 10 dispatches per ReLU), kept as the parity reference for the
 * batched one and for benchmarks. It decides which matrices to skip on the host (hasConstantRow).
 */
export async function wrcorScoresPerLayer(backend: Backend, relus: readonly ReluRecord[], n: number): Promise<WrcorScores> {
  const ks = [0, 1, 2, 3, 4, 5].map(() => backend.zeros([n, n]));
  const [kAct, kGrad, kActU, kGradU, kActS, kGradS] = ks;
  const add = async (x: Tensor, d: number, r: ReluRecord, k: Tensor, kU: Tensor, kS: Tensor) => {
    if (hasConstantRow(await x.read(), n, d)) return;
    const c = backend.ops.correlation(x.view([n, d]), { allowSingleFeature: true });
    backend.ops.accumulateAbs(k, c, 2 ** r.module);
    backend.ops.accumulateAbs(kU, c, 1);
    backend.ops.accumulateAbs(kS, c, 2 ** r.block);
    c.dispose();
  };
  for (const r of relus) {
    const d = r.input.size / n;
    await add(r.input, d, r, kAct, kActU, kActS);
    // A ReLU on a dead-end node (its output never reaches the loss) gets no gradient: it carries
    // no gradient information, so only its activation term counts.
    if (r.gradInput) await add(r.gradInput, d, r, kGrad, kGradU, kGradS);
  }
  const [act, grad, actU, gradU, actS, gradS] = await Promise.all(ks.map((t) => t.read()));
  for (const t of ks) t.dispose();
  return wrcorFromKernels({ act, grad, actU, gradU, actS, gradS }, n);
}

/** NASWOT (Mellor et al. 2021) for several architectures at once, sign-code Gram products batched. */
export async function naswotScoresMany(
  backend: Backend,
  archRelus: readonly (readonly CorrRecord[])[],
  n: number,
  opts: BatchedProxyOptions = {},
): Promise<number[]> {
  checkBatch(n, 'naswotScoresMany');
  const A = archRelus.length;
  if (A === 0) return [];
  const items: GramItem[] = [];
  const totalD = archRelus.map((relus, a) => {
    let total = 0;
    for (const r of relus) {
      const d = featuresOf(r, r.input, n, 'input');
      total += d;
      // s s^T = (#agree - #disagree) = D - 2*Hamming; the kernel K = D - Hamming = (D + s s^T) / 2.
      items.push({ slot: a, t: r.input, d, weight: 0.5, stacked: r.stacked });
    }
    return total;
  });
  const k = accumulateGrams(backend, items, n, A, 'sign', 1, opts);
  const km = await readAndDispose(k);
  const nn = n * n;
  return totalD.map((td, a) =>
    logAbsDet(
      Float64Array.from(km.subarray(a * nn, (a + 1) * nn), (v) => v + td / 2),
      n,
    ),
  );
}

/** NASWOT from one network's ReLU pre-activations (batched path). */
export async function naswotScore(
  backend: Backend,
  relus: readonly ReluRecord[],
  n: number,
  opts: BatchedProxyOptions = {},
): Promise<number> {
  const [s] = await naswotScoresMany(backend, [relus], n, opts);
  return s;
}

/** The original per-ReLU NASWOT (parity reference). */
export async function naswotScorePerLayer(backend: Backend, relus: readonly ReluRecord[], n: number): Promise<number> {
  const k = backend.zeros([n, n]);
  let totalD = 0;
  for (const r of relus) {
    const d = r.input.size / n;
    totalD += d;
    const s = backend.ops.signCodes(r.input.view([n, d]));
    backend.ops.matmul(s, s, { transB: true, alpha: 0.5, beta: 1, out: k });
    s.dispose();
  }
  const km = await k.read();
  k.dispose();
  const full = Float64Array.from(km, (v) => v + totalD / 2);
  return logAbsDet(full, n);
}
