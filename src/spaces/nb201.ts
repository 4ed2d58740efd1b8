/**
 * The NAS-Bench-201 cell space: 4 nodes (0 = input, 3 = output), 6 edges j<-i, one of 5 ops each
 * (NB201_OPS; what each computes: NB201_OP_SPECS), 5^6 = 15625 cells.
 *
 * Edge order (arch string order): (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2), i.e.
 * `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
 *
 * Equivalence levels (see `canonicalize`):
 * - 'live' (default): an edge is dead when its source is unreachable from the input or its target
 *   cannot reach the output through non-'none' edges; dead edges compute nothing (zero feature maps)
 *   and are rewritten to 'none'. The 15625 cells collapse to exactly 9445 live forms, and those are
 *   the 9445 cells of the shared ground-truth tables (every `net_str` there is already a live form;
 *   the all-'none' cell is among them). Live-equivalent cells were trained once in the benchmark, so
 *   this key is the right one for ground-truth lookup.
 * - 'nb201': NAS-Bench-201's own `Structure.to_unique_str(consider_zero=True)`, which also folds
 *   skip connections and sums (commutativity): 6466 classes, the figure in the NAS-Bench-201 paper.
 *   It is approximate: it expands shared nodes into trees and only recognises a zero node when all its
 *   inputs are zero, so it is neither a strict isomorphism test nor invariant under the 'live' rewrite.
 *   Isomorphic cells in the benchmark were trained separately and have different accuracies.
 */
import type { Rng } from '../util/rng.js';
import { checkChoices, type SearchSpace } from './space.js';

export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/**
 * What an edge op computes. 'zero': nothing (the edge adds no term); 'identity': its input; 'conv':
 * ReLU -> k x k conv (stride 1, padding (k-1)/2, no bias) -> BN (affine); 'avgPool': AvgPool(k, 1,
 * (k-1)/2, count_include_pad=False). Every consumer (the network, its stacked form, the complexity
 * counts, export, canonical forms) reads an op through this and switches on `kind` exhaustively
 * (unhandledOpKind), so a new kind fails typecheck until each handles it.
 */
export type Nb201OpSpec =
  | { readonly kind: 'zero' }
  | { readonly kind: 'identity' }
  | { readonly kind: 'conv'; readonly kernel: number }
  | { readonly kind: 'avgPool'; readonly kernel: number };

/** Per op its spec; a key per NB201_OPS entry, so an op added there fails typecheck until it has one. */
export const NB201_OP_SPECS: { readonly [O in Nb201Op]: Nb201OpSpec } = Object.freeze({
  none: { kind: 'zero' },
  skip_connect: { kind: 'identity' },
  nor_conv_1x1: { kind: 'conv', kernel: 1 },
  nor_conv_3x3: { kind: 'conv', kernel: 3 },
  avg_pool_3x3: { kind: 'avgPool', kernel: 3 },
});

export function nb201OpSpec(op: Nb201Op): Nb201OpSpec {
  return NB201_OP_SPECS[op];
}

/** The default branch of an exhaustive switch on Nb201OpSpec['kind']: a kind left out is a type error there. */
export function unhandledOpKind(spec: never): never {
  throw new Error(`NB201 op kind '${(spec as Nb201OpSpec).kind}' is not handled here`);
}

/** True for the ops that contribute nothing ('none'). */
export function isZeroOp(op: Nb201Op): boolean {
  return NB201_OP_SPECS[op].kind === 'zero';
}

/** The op's conv kernel size, or null when it is not a conv. */
export function convKernel(op: Nb201Op): number | null {
  const s = NB201_OP_SPECS[op];
  return s.kind === 'conv' ? s.kernel : null;
}

export interface Nb201Cell {
  edges: Nb201Op[];
}

/** [to, from] of each edge, in arch string order. */
export const NB201_EDGES: ReadonlyArray<readonly [number, number]> = [
  [1, 0],
  [2, 0],
  [2, 1],
  [3, 0],
  [3, 1],
  [3, 2],
];
export const NB201_NUM_EDGES = 6;
/** NB201_OPS.length ** NB201_NUM_EDGES (15625). */
export const NB201_NUM_CELLS = NB201_OPS.length ** NB201_NUM_EDGES;
/** The cells without dead edges ('live' canonical forms): the rows of the ground-truth tables. */
export const NB201_LIVE_CELLS = 9445;

/**
 * Op order of the shared data's index tuples (NASLib's: Identity, Zero, ReLUConvBN3x3,
 * ReLUConvBN1x1, AvgPool) — differs from NB201_OPS.
 */
export const TUPLE_OPS: readonly Nb201Op[] = ['skip_connect', 'none', 'nor_conv_3x3', 'nor_conv_1x1', 'avg_pool_3x3'];

/**
 * Tuple edge t = (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) (1-based nodes, i.e. 0<-... as from,to) sits at
 * arch position TUPLE_TO_ARCH[t]: (1,4) is 3<-0 (position 3) and (2,3) is 2<-1 (position 2).
 * The permutation is its own inverse.
 */
const TUPLE_TO_ARCH = [0, 1, 3, 2, 4, 5] as const;

const OP_INDEX = new Map<string, number>(NB201_OPS.map((op, i) => [op, i]));

export function isNb201Op(s: string): s is Nb201Op {
  return OP_INDEX.has(s);
}

/** Throws unless `c` has 6 known ops. */
export function checkCell(c: Nb201Cell): void {
  if (!c || !Array.isArray(c.edges) || c.edges.length !== NB201_NUM_EDGES) {
    throw new RangeError(`NB201 cell needs ${NB201_NUM_EDGES} edges, got ${c?.edges?.length ?? 'none'}`);
  }
  c.edges.forEach((op, i) => {
    if (!isNb201Op(op)) throw new RangeError(`NB201 cell edge ${i}: unknown op '${op}' (ops: ${NB201_OPS.join(', ')})`);
  });
}

/**
 * Parses `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. Inputs of a node may come in any order but each of
 * 0..j-1 exactly once. Errors name the node, the token and what is wrong.
 */
export function parseArch(s: string): Nb201Cell {
  const fail = (why: string): never => {
    throw new SyntaxError(`parseArch: ${why} in '${s}' (expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|)`);
  };
  if (typeof s !== 'string') fail(`expected a string, got ${typeof s}`);
  const str = s.trim();
  const groups = str.split('+');
  if (groups.length !== 3) fail(`expected 3 nodes separated by '+', got ${groups.length}`);
  const edges: Nb201Op[] = [];
  groups.forEach((g, gi) => {
    const node = gi + 1;
    if (!g.startsWith('|') || !g.endsWith('|') || g.length < 2) fail(`node ${node} '${g}' must be wrapped in '|'`);
    const tokens = g.slice(1, -1).split('|');
    if (tokens.length !== node) fail(`node ${node} needs ${node} input(s), got ${tokens.length} ('${g}')`);
    const ops: Array<Nb201Op | undefined> = new Array(node).fill(undefined);
    tokens.forEach((t, ti) => {
      const m = /^([^~|]*)~(.*)$/.exec(t);
      if (!m) return fail(`node ${node} token ${ti + 1} '${t}' is not op~input`);
      const [, op, inp] = m;
      if (!isNb201Op(op)) fail(`node ${node} token ${ti + 1} '${t}': unknown op '${op}' (ops: ${NB201_OPS.join(', ')})`);
      if (!/^\d+$/.test(inp) || Number(inp) >= node) {
        fail(`node ${node} token ${ti + 1} '${t}': bad input index '${inp}' (must be 0..${node - 1})`);
      }
      const from = Number(inp);
      if (ops[from] !== undefined) fail(`node ${node} token ${ti + 1} '${t}': input ${from} given twice`);
      ops[from] = op as Nb201Op;
    });
    edges.push(...(ops as Nb201Op[]));
  });
  return { edges };
}

export function formatArch(c: Nb201Cell): string {
  checkCell(c);
  const e = c.edges;
  return `|${e[0]}~0|+|${e[1]}~0|${e[2]}~1|+|${e[3]}~0|${e[4]}~1|${e[5]}~2|`;
}

/**
 * The shared data's tuple, e.g. "(4, 0, 3, 1, 4, 3)" or [4,0,3,1,4,3]: op indices in TUPLE_OPS
 * order over edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4).
 */
export function fromIndexTuple(t: number[] | string): Nb201Cell {
  const nums =
    typeof t === 'string'
      ? t
          .replace(/^\s*[([]\s*|\s*[)\]]\s*$/g, '')
          .split(',')
          .map((x) => (x.trim() === '' ? NaN : Number(x)))
      : [...t];
  if (nums.length !== NB201_NUM_EDGES)
    throw new RangeError(`NB201 index tuple needs 6 entries, got ${nums.length} (${String(t)})`);
  const edges = new Array<Nb201Op>(NB201_NUM_EDGES);
  nums.forEach((v, ti) => {
    if (!Number.isInteger(v) || v < 0 || v >= TUPLE_OPS.length) {
      throw new RangeError(`NB201 index tuple entry ${ti} is ${v}, must be an integer 0..${TUPLE_OPS.length - 1} (${String(t)})`);
    }
    edges[TUPLE_TO_ARCH[ti]] = TUPLE_OPS[v];
  });
  return { edges };
}

export function toIndexTuple(c: Nb201Cell): number[] {
  checkCell(c);
  return TUPLE_TO_ARCH.map((p) => TUPLE_OPS.indexOf(c.edges[p]));
}

/** The tuple as the shared CSVs print it: "(4, 0, 3, 1, 4, 3)". */
export function formatIndexTuple(c: Nb201Cell): string {
  return `(${toIndexTuple(c).join(', ')})`;
}

/** Which edges carry signal from the input to the output (see the module comment). */
export function liveEdges(c: Nb201Cell): boolean[] {
  checkCell(c);
  const on = c.edges.map((op) => !isZeroOp(op));
  const fwd = [true, false, false, false];
  NB201_EDGES.forEach(([to, from], k) => {
    if (on[k] && fwd[from]) fwd[to] = true;
  });
  const bwd = [false, false, false, true];
  for (let k = NB201_NUM_EDGES - 1; k >= 0; k--) {
    const [to, from] = NB201_EDGES[k];
    if (on[k] && bwd[to]) bwd[from] = true;
  }
  return NB201_EDGES.map(([to, from], k) => on[k] && fwd[from] && bwd[to]);
}

/** True when some path of non-'none' edges joins input and output. */
export function isConnected(c: Nb201Cell): boolean {
  return liveEdges(c).some(Boolean);
}

/** NAS-Bench-201's `Structure.to_unique_str(consider_zero=True)` (6466 distinct values over the space). */
export function nb201UniqueStr(c: Nb201Cell): string {
  checkCell(c);
  const nodes = ['0'];
  let k = 0;
  for (let j = 1; j <= 3; j++) {
    const cur: string[] = [];
    for (let i = 0; i < j; i++, k++) {
      const op = c.edges[k];
      const spec = NB201_OP_SPECS[op];
      switch (spec.kind) {
        case 'zero':
          cur.push('#');
          break;
        case 'identity':
          cur.push(nodes[i]);
          break;
        case 'conv':
        case 'avgPool':
          cur.push(nodes[i] === '#' ? '#' : `(${nodes[i]})@${op}`);
          break;
        default:
          unhandledOpKind(spec);
      }
    }
    nodes.push(cur.sort().join('+'));
  }
  return nodes[3];
}

export type CanonicalLevel = 'live' | 'nb201';

let nb201Reps: Map<string, number> | undefined;

/**
 * The representative of `c`'s class: for 'live' its live form (dead edges -> 'none'); for 'nb201'
 * the lowest-`cellIndex` cell with the same `nb201UniqueStr`. Idempotent at each level.
 */
export function canonicalize(c: Nb201Cell, level: CanonicalLevel = 'live'): Nb201Cell {
  if (level === 'live') {
    const live = liveEdges(c);
    return { edges: c.edges.map((op, k) => (live[k] ? op : 'none')) };
  }
  if (level === 'nb201') {
    if (!nb201Reps) {
      nb201Reps = new Map();
      for (let i = 0; i < NB201_NUM_CELLS; i++) {
        const key = nb201UniqueStr(cellFromIndex(i));
        if (!nb201Reps.has(key)) nb201Reps.set(key, i);
      }
    }
    return cellFromIndex(nb201Reps.get(nb201UniqueStr(c))!);
  }
  throw new RangeError(`canonicalize: unknown level '${String(level)}' (live, nb201)`);
}

/** Arch string of `canonicalize(c, level)`; with 'live' it is the `net_str` key of the shared tables. */
export function canonicalKey(c: Nb201Cell, level: CanonicalLevel = 'live'): string {
  return formatArch(canonicalize(c, level));
}

/** True when `c` is its own representative (for 'live': has no dead edges, i.e. is one of the 9445 table cells). */
export function isCanonical(c: Nb201Cell, level: CanonicalLevel = 'live'): boolean {
  return canonicalize(c, level).edges.every((op, k) => op === c.edges[k]);
}

/** One representative per class, in `cellIndex` order: 9445 for 'live', 6466 for 'nb201'. */
export function canonicalCells(level: CanonicalLevel = 'live'): Nb201Cell[] {
  return allCells().filter((c) => isCanonical(c, level));
}

/**
 * Base-NB201_OPS.length (5) index, arch position 0 most significant, digits in NB201_OPS order. This is the enumeration
 * order of NAS-Bench-201's `CellStructure.gen_all`; it is NOT the benchmark file's arch index (that
 * order is not recoverable from the shared data).
 */
export function cellIndex(c: Nb201Cell): number {
  checkCell(c);
  return c.edges.reduce((acc, op) => acc * NB201_OPS.length + OP_INDEX.get(op)!, 0);
}

export function cellFromIndex(i: number): Nb201Cell {
  if (!Number.isInteger(i) || i < 0 || i >= NB201_NUM_CELLS) {
    throw new RangeError(`NB201 cell index must be an integer in [0, ${NB201_NUM_CELLS}), got ${i}`);
  }
  const edges = new Array<Nb201Op>(NB201_NUM_EDGES);
  for (let k = NB201_NUM_EDGES - 1; k >= 0; k--) {
    edges[k] = NB201_OPS[i % NB201_OPS.length];
    i = Math.floor(i / NB201_OPS.length);
  }
  return { edges };
}

/** All NB201_NUM_CELLS (15625) cells in `cellIndex` order (fresh objects). */
export function allCells(): Nb201Cell[] {
  return Array.from({ length: NB201_NUM_CELLS }, (_, i) => cellFromIndex(i));
}

export function sampleCell(rng: Rng): Nb201Cell {
  return { edges: Array.from({ length: NB201_NUM_EDGES }, () => NB201_OPS[rng.int(NB201_OPS.length)]) };
}

/** Changes one uniformly chosen edge to a different op (uniform over the other NB201_OPS.length - 1). */
export function mutateCell(c: Nb201Cell, rng: Rng): Nb201Cell {
  checkCell(c);
  const k = rng.int(NB201_NUM_EDGES);
  const edges = [...c.edges];
  edges[k] = NB201_OPS[(OP_INDEX.get(edges[k])! + 1 + rng.int(NB201_OPS.length - 1)) % NB201_OPS.length];
  return { edges };
}

/**
 * The NB201 cell space for the search strategies. `key` decides which cells share a cached score:
 * 'live' (default) treats cells with the same live form as one (they share ground truth), 'exact'
 * keeps every arch string apart (e.g. when a proxy sees dead edges), 'nb201' uses NB201's unique str.
 */
export function makeNb201Space(opts: { key?: CanonicalLevel | 'exact' } = {}): SearchSpace<Nb201Cell> {
  const level = opts.key ?? 'live';
  if (!['live', 'nb201', 'exact'].includes(level))
    throw new RangeError(`makeNb201Space: unknown key '${level}' (live, nb201, exact)`);
  const space: SearchSpace<Nb201Cell> = {
    name: level === 'live' ? 'nb201' : `nb201-${level}`,
    choiceSizes: new Array(NB201_NUM_EDGES).fill(NB201_OPS.length),
    sample: sampleCell,
    mutate: mutateCell,
    key: level === 'exact' ? formatArch : level === 'nb201' ? nb201UniqueStr : (c) => canonicalKey(c),
    encode: (c) => {
      checkCell(c);
      return c.edges.map((op) => OP_INDEX.get(op)!);
    },
    decode: (choices) => {
      checkChoices(space, choices);
      return { edges: choices.map((i) => NB201_OPS[i]) };
    },
    format: formatArch,
    parse: parseArch,
  };
  return space;
}

/** The NB201 space with 'live' keys. Choices are op indices in NB201_OPS order, arch-string edge order. */
export const nb201Space: SearchSpace<Nb201Cell> = makeNb201Space();
