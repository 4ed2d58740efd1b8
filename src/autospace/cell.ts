/**
 * AutoSpace cells: what fills one layer (block position) of a MobileNetV2 / ProxylessNAS network,
 * as a small DAG of primitive ops. Value 0 is the cell input, value i+1 is node i; a node applies
 * its op to its input (or to the sum of its two inputs); the cell output is the sum of the listed
 * values. The layer's identity shortcut (x + cell(x), where stride 1 and inC === outC) is not part
 * of the cell. The zero cell ({nodes: [], outputs: []}) outputs nothing: the layer is the shortcut.
 *
 * Resolution: every value is at 'in' (inH) or 'out' (outSize(inH, stride)) resolution. A spatial op
 * (dw*, c3e*) strides by the layer stride when its input is at 'in' resolution; 1×1 ops keep it.
 * At stride 1 the two coincide and every value is reported as 'out'.
 */
import { outSize } from '../latency/keys.js';
import type { Rng } from '../util/rng.js';

export const PRIMITIVES = ['pw1', 'pw3', 'pw6', 'pwl', 'dw3', 'dw5', 'dw7', 'c3e1', 'c3e3'] as const;
export type PrimitiveName = (typeof PRIMITIVES)[number];

export interface CellNode {
  op: PrimitiveName;
  /** 1 or 2 value indices (0 = cell input, i+1 = node i); two inputs are summed. */
  inputs: number[];
}

export interface Cell {
  nodes: CellNode[];
  /** Value indices summed into the cell output (never 0); empty only for the zero cell. */
  outputs: number[];
}

export interface LayerShape {
  inC: number;
  outC: number;
  stride: 1 | 2;
  /** Input height = width. */
  inH: number;
}

export type Resolution = 'in' | 'out';

/** What a validated node computes. */
export interface NodeInfo {
  /** Output channels. */
  channels: number;
  /** Output resolution. */
  res: Resolution;
  /** Output height = width. */
  h: number;
  /** Channels of the (summed) input. */
  inChannels: number;
  /** Input height = width. */
  inH: number;
  /** Conv stride: the layer stride for a spatial op on an 'in'-resolution input, else 1. */
  stride: 1 | 2;
}

export interface PrimitiveSpec {
  kind: 'pw' | 'dw' | 'c3';
  kernel: 1 | 3 | 5 | 7;
  /** Output channels = expand · layer inC; null: the layer's outC (pwl); dw keeps its input channels. */
  expand: number | null;
  /** ReLU6 after BN. */
  act: boolean;
}

export const MAX_NODES = 6;

export class CellError extends Error {
  override readonly name = 'CellError';
}

const SPECS: Record<PrimitiveName, PrimitiveSpec> = {
  pw1: { kind: 'pw', kernel: 1, expand: 1, act: true },
  pw3: { kind: 'pw', kernel: 1, expand: 3, act: true },
  pw6: { kind: 'pw', kernel: 1, expand: 6, act: true },
  pwl: { kind: 'pw', kernel: 1, expand: null, act: false },
  dw3: { kind: 'dw', kernel: 3, expand: null, act: true },
  dw5: { kind: 'dw', kernel: 5, expand: null, act: true },
  dw7: { kind: 'dw', kernel: 7, expand: null, act: true },
  c3e1: { kind: 'c3', kernel: 3, expand: 1, act: true },
  c3e3: { kind: 'c3', kernel: 3, expand: 3, act: true },
};

export function isPrimitive(s: string): s is PrimitiveName {
  return (PRIMITIVES as readonly string[]).includes(s);
}

export function primitiveSpec(op: PrimitiveName): PrimitiveSpec {
  const s = SPECS[op];
  if (!s) throw new CellError(`unknown primitive '${op}' (one of ${PRIMITIVES.join(', ')})`);
  return s;
}

/** The layer adds x + cell(x) (ProxylessNAS idskip). */
export function hasShortcut(shape: LayerShape): boolean {
  return shape.stride === 1 && shape.inC === shape.outC;
}

export function isZeroCell(cell: Cell): boolean {
  return cell.nodes.length === 0 && cell.outputs.length === 0;
}

function checkShape(shape: LayerShape): void {
  const pos = (v: number) => Number.isInteger(v) && v > 0;
  if (!pos(shape.inC) || !pos(shape.outC) || !pos(shape.inH) || (shape.stride !== 1 && shape.stride !== 2)) {
    throw new CellError(
      `bad layer shape {inC: ${shape.inC}, outC: ${shape.outC}, stride: ${shape.stride}, inH: ${shape.inH}}: ` +
        'channels and inH must be positive integers, stride 1 or 2',
    );
  }
}

function nodeLabel(cell: Cell, i: number): string {
  const n = cell.nodes[i];
  return `node ${i} (${String(n?.op)}<${Array.isArray(n?.inputs) ? n.inputs.join(',') : '?'})`;
}

/**
 * Shape-free structure checks: node count, known ops, 1–2 distinct inputs referring to earlier
 * values, outputs distinct and in range, no dead nodes.
 */
export function checkStructure(cell: Cell): void {
  if (!cell || !Array.isArray(cell.nodes) || !Array.isArray(cell.outputs)) throw new CellError('a cell needs nodes and outputs arrays');
  const n = cell.nodes.length;
  if (n > MAX_NODES) throw new CellError(`cell has ${n} nodes; at most ${MAX_NODES} allowed`);
  cell.nodes.forEach((node, i) => {
    const where = nodeLabel(cell, i);
    if (!isPrimitive(node.op)) throw new CellError(`${where}: unknown op '${String(node.op)}' (one of ${PRIMITIVES.join(', ')})`);
    if (!Array.isArray(node.inputs) || node.inputs.length < 1 || node.inputs.length > 2) {
      throw new CellError(`${where}: needs 1 or 2 inputs, has ${Array.isArray(node.inputs) ? node.inputs.length : 'none'}`);
    }
    for (const v of node.inputs) {
      if (!Number.isInteger(v) || v < 0 || v > i) {
        throw new CellError(`${where}: input ${v} does not refer to an earlier value (0 = cell input, 1..${i} = nodes 0..${i - 1})`);
      }
    }
    if (node.inputs.length === 2 && node.inputs[0] === node.inputs[1]) throw new CellError(`${where}: duplicate input ${node.inputs[0]}`);
  });
  if (n === 0 && cell.outputs.length === 0) return; // the zero cell
  if (cell.outputs.length === 0) throw new CellError('cell has nodes but no outputs');
  const seen = new Set<number>();
  for (const o of cell.outputs) {
    if (!Number.isInteger(o) || o < 1 || o > n) {
      throw new CellError(`output ${o} does not refer to a node (1..${n}; the cell input 0 cannot be an output)`);
    }
    if (seen.has(o)) throw new CellError(`duplicate output ${o} (node ${o - 1})`);
    seen.add(o);
  }
  const live = liveNodes(cell);
  for (let i = 0; i < n; i++) if (!live[i]) throw new CellError(`${nodeLabel(cell, i)}: dead node (reaches no output)`);
}

/** live[i]: node i reaches an output. Assumes references point backwards. */
function liveNodes(cell: Cell): boolean[] {
  const live = cell.nodes.map(() => false);
  for (const o of cell.outputs) if (o >= 1 && o <= live.length) live[o - 1] = true;
  for (let i = cell.nodes.length - 1; i >= 0; i--) {
    if (!live[i]) continue;
    for (const v of cell.nodes[i].inputs) if (v >= 1 && v <= i) live[v - 1] = true;
  }
  return live;
}

/**
 * Checks the cell against a layer shape and returns what each node computes. Throws CellError
 * naming the node and the problem.
 */
export function validateCell(cell: Cell, shape: LayerShape): NodeInfo[] {
  checkShape(shape);
  checkStructure(cell);
  if (isZeroCell(cell)) {
    if (!hasShortcut(shape)) {
      throw new CellError(
        `the zero cell needs a layer with an identity shortcut (stride 1 and inC === outC), got stride ${shape.stride}, ${shape.inC} -> ${shape.outC} channels`,
      );
    }
    return [];
  }
  const outH = outSize(shape.inH, shape.stride);
  const inRes: Resolution = shape.stride === 2 ? 'in' : 'out';
  const vals: Array<{ channels: number; res: Resolution }> = [{ channels: shape.inC, res: inRes }];
  const infos: NodeInfo[] = [];
  cell.nodes.forEach((node, i) => {
    const where = nodeLabel(cell, i);
    const [a, b] = node.inputs.map((v) => vals[v]);
    if (b && (a.channels !== b.channels || a.res !== b.res)) {
      throw new CellError(
        `${where}: summed inputs disagree: value ${node.inputs[0]} is ${a.channels} channels at '${a.res}' resolution, ` +
          `value ${node.inputs[1]} is ${b.channels} channels at '${b.res}'`,
      );
    }
    const spec = SPECS[node.op];
    if (spec.kind === 'dw' && !(a.channels > 0)) throw new CellError(`${where}: depthwise op on an input with ${a.channels} channels`);
    const channels = spec.kind === 'dw' ? a.channels : spec.expand === null ? shape.outC : spec.expand * shape.inC;
    const stride: 1 | 2 = spec.kind !== 'pw' && a.res === 'in' ? shape.stride : 1;
    const res: Resolution = stride === 2 ? 'out' : a.res;
    const inH = a.res === 'in' ? shape.inH : outH;
    const info: NodeInfo = { channels, res, h: res === 'in' ? shape.inH : outH, inChannels: a.channels, inH, stride };
    infos.push(info);
    vals.push(info);
  });
  for (const o of cell.outputs) {
    const v = vals[o];
    if (v.channels !== shape.outC || v.res !== 'out') {
      throw new CellError(
        `${nodeLabel(cell, o - 1)}: is an output but gives ${v.channels} channels at '${v.res}' resolution; ` +
          `outputs need ${shape.outC} channels at 'out' resolution`,
      );
    }
  }
  return infos;
}

/** Conv weight shape [out, in/groups, k, k] of node i (after validateCell). */
export function nodeWeightShape(op: PrimitiveName, info: NodeInfo): [number, number, number, number] {
  const s = SPECS[op];
  return [info.channels, s.kind === 'dw' ? 1 : info.inChannels, s.kernel, s.kernel];
}

/** Multiply-adds of the convolutions (per image); BN, ReLU6 and the sums are not counted. */
export function cellMadds(cell: Cell, shape: LayerShape): number {
  const infos = validateCell(cell, shape);
  return cell.nodes.reduce((s, n, i) => {
    const [o, ci, k] = nodeWeightShape(n.op, infos[i]);
    return s + infos[i].h * infos[i].h * o * ci * k * k;
  }, 0);
}

/** Conv weights plus BN gamma and beta (2 per output channel). */
export function cellParams(cell: Cell, shape: LayerShape): number {
  const infos = validateCell(cell, shape);
  return cell.nodes.reduce((s, n, i) => {
    const [o, ci, k] = nodeWeightShape(n.op, infos[i]);
    return s + o * ci * k * k + 2 * o;
  }, 0);
}

// ---- text form ----------------------------------------------------------------------------------

function renderOrder(cell: Cell, order: readonly number[]): string {
  const pos = new Map<number, number>(order.map((o, k) => [o + 1, k + 1]));
  pos.set(0, 0);
  const ref = (v: number) => pos.get(v)!;
  const nodes = order.map((i) => `${cell.nodes[i].op}<${cell.nodes[i].inputs.map(ref).sort((a, b) => a - b).join(',')}`);
  return `${nodes.join(';')};=>${cell.outputs.map(ref).sort((a, b) => a - b).join('+')}`;
}

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [xs.slice()];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/**
 * Canonical text of a cell, usable as a key. Canonicalised: node numbering (nodes are ordered by
 * depth = longest path from the input, then op, then their renumbered inputs; nodes tied on all
 * three are tried in every order and the lexicographically smallest text wins), the order of a
 * node's two inputs and the order of the outputs, so isomorphic DAGs give the same string.
 * Throws CellError for structurally invalid cells (see checkStructure); shapes are not checked.
 */
export function formatCell(cell: Cell): string {
  checkStructure(cell);
  if (isZeroCell(cell)) return 'zero';
  const depth: number[] = [];
  cell.nodes.forEach((n, i) => (depth[i] = 1 + Math.max(...n.inputs.map((v) => (v === 0 ? 0 : depth[v - 1])))));
  const levels: number[][] = [];
  depth.forEach((d, i) => (levels[d - 1] ??= []).push(i));
  let best: string | null = null;
  const visit = (li: number, order: number[]): void => {
    if (li === levels.length) {
      const s = renderOrder(cell, order);
      if (best === null || s < best) best = s;
      return;
    }
    const pos = new Map<number, number>(order.map((o, k) => [o + 1, k + 1]));
    pos.set(0, 0);
    const key = (i: number) => `${cell.nodes[i].op}<${cell.nodes[i].inputs.map((v) => pos.get(v)!).sort((a, b) => a - b).join(',')}`;
    const keyed = levels[li].map((i) => ({ i, k: key(i) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    const groups: number[][] = [];
    keyed.forEach((e, j) => (j > 0 && keyed[j - 1].k === e.k ? groups[groups.length - 1].push(e.i) : groups.push([e.i])));
    // Every combination of orders within tie groups (usually a single one).
    let arrangements: number[][] = [[]];
    for (const g of groups) arrangements = arrangements.flatMap((a) => permutations(g).map((p) => [...a, ...p]));
    for (const a of arrangements) visit(li + 1, [...order, ...a]);
  };
  visit(0, []);
  return best!;
}

/** Parses formatCell's text (node numbering need not be canonical). Checks structure, not shapes. */
export function parseCell(text: string): Cell {
  const s = text.trim();
  if (s === 'zero') return zeroCell();
  const parts = s.split('=>');
  if (parts.length !== 2) throw new CellError(`malformed cell '${text}': expected 'op<i;op<i,j;...;=>a+b' or 'zero'`);
  const tokens = parts[0].split(';').map((t) => t.trim());
  if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop(); // the ';' before '=>'
  const nodes: CellNode[] = tokens.map((tok, i) => {
    const m = /^([a-z0-9]+)<(\d+)(?:,(\d+))?$/.exec(tok);
    if (!m) throw new CellError(`malformed node ${i} '${tok}' in '${text}': expected op<i or op<i,j`);
    if (!isPrimitive(m[1])) throw new CellError(`node ${i} '${tok}': unknown op '${m[1]}' (one of ${PRIMITIVES.join(', ')})`);
    return { op: m[1], inputs: m[3] === undefined ? [Number(m[2])] : [Number(m[2]), Number(m[3])] };
  });
  const outText = parts[1].trim();
  if (!/^\d+(\+\d+)*$/.test(outText)) throw new CellError(`malformed outputs '${outText}' in '${text}': expected a+b+...`);
  const cell: Cell = { nodes, outputs: outText.split('+').map(Number) };
  checkStructure(cell);
  return cell;
}

// ---- constructors -------------------------------------------------------------------------------

export function zeroCell(): Cell {
  return { nodes: [], outputs: [] };
}

/** MBConv: [pw{expand}] → dw{kernel} → pwl; expand 1 has no expansion node. */
export function mbconvCell(kernel: 3 | 5 | 7, expand: 1 | 3 | 6): Cell {
  if (![3, 5, 7].includes(kernel)) throw new CellError(`mbconvCell: kernel ${kernel} is not 3, 5 or 7`);
  if (![1, 3, 6].includes(expand)) throw new CellError(`mbconvCell: expand ${expand} is not 1, 3 or 6`);
  const dw = `dw${kernel}` as PrimitiveName;
  if (expand === 1) return { nodes: [{ op: dw, inputs: [0] }, { op: 'pwl', inputs: [1] }], outputs: [2] };
  return {
    nodes: [
      { op: `pw${expand}` as PrimitiveName, inputs: [0] },
      { op: dw, inputs: [1] },
      { op: 'pwl', inputs: [2] },
    ],
    outputs: [3],
  };
}

/** The MobileNetV2 reference block (MBConv k3 e6); valid for every layer shape. */
export function referenceCell(shape: LayerShape): Cell {
  checkShape(shape);
  return mbconvCell(3, 6);
}

/**
 * The ProxylessNAS candidates of one position, in src/latency/space.ts order: expand-major over
 * kernels (e3 k3, e3 k5, e3 k7, e6 k3, ...), then 'zero' where the layer has a shortcut.
 */
export function handDesignedCells(
  shape: LayerShape,
  { kernels = [3, 5, 7], expands = [3, 6] }: { kernels?: Array<3 | 5 | 7>; expands?: Array<1 | 3 | 6> } = {},
): Cell[] {
  checkShape(shape);
  const cells: Cell[] = [];
  for (const e of expands) for (const k of kernels) cells.push(mbconvCell(k, e));
  if (hasShortcut(shape)) cells.push(zeroCell());
  return cells;
}

// ---- random cells and mutation ------------------------------------------------------------------

/** Graph form for editing: inputs point at nodes (null = cell input), so renumbering is free. */
interface GNode {
  op: PrimitiveName;
  inputs: Array<GNode | null>;
}
interface Graph {
  nodes: GNode[];
  outputs: GNode[];
}

function toGraph(cell: Cell): Graph {
  const nodes: GNode[] = [];
  for (const n of cell.nodes) nodes.push({ op: n.op, inputs: n.inputs.map((v) => (v === 0 ? null : nodes[v - 1])) });
  return { nodes, outputs: cell.outputs.map((o) => nodes[o - 1]) };
}

function fromGraph(g: Graph): Cell {
  const idx = new Map<GNode | null, number>([[null, 0]]);
  g.nodes.forEach((n, i) => idx.set(n, i + 1));
  const ref = (n: GNode | null) => {
    const v = idx.get(n);
    if (v === undefined) throw new CellError('internal: graph refers to a removed node');
    return v;
  };
  return {
    nodes: g.nodes.map((n) => ({ op: n.op, inputs: [...new Set(n.inputs.map(ref))] })),
    outputs: [...new Set(g.outputs.map(ref))],
  };
}

/** Removes nodes that reach no output (renumbering the rest). */
export function pruneDeadNodes(cell: Cell): Cell {
  const live = liveNodes(cell);
  if (live.every(Boolean)) return cell;
  const g = toGraph(cell);
  return fromGraph({ nodes: g.nodes.filter((_, i) => live[i]), outputs: g.outputs });
}

function tryValid(cell: Cell, shape: LayerShape): boolean {
  try {
    validateCell(cell, shape);
    return true;
  } catch (e) {
    if (e instanceof CellError) return false;
    throw e;
  }
}

export interface RandomCellOptions {
  /** Default MAX_NODES. */
  maxNodes?: number;
  /** Probability of the zero cell where the layer has a shortcut (default 0). */
  zeroProb?: number;
}

const SPATIAL_OPS: PrimitiveName[] = ['dw3', 'dw5', 'dw7', 'c3e1', 'c3e3'];

/** One random draw; may be invalid (the caller retries). */
function drawCell(shape: LayerShape, rng: Rng, maxNodes: number): Cell {
  const outH = outSize(shape.inH, shape.stride);
  const inRes: Resolution = shape.stride === 2 ? 'in' : 'out';
  const vals: Array<{ channels: number; res: Resolution }> = [{ channels: shape.inC, res: inRes }];
  const nodes: CellNode[] = [];
  const used = new Set<number>();
  const pickInput = (filter: (v: number) => boolean): number | null => {
    const all = vals.map((_, v) => v).filter(filter);
    if (all.length === 0) return null;
    // Prefer values nobody consumes yet, so fewer nodes end up dead.
    const fresh = all.filter((v) => !used.has(v));
    return rng.pick(fresh.length > 0 && rng.next() < 0.7 ? fresh : all);
  };
  const push = (op: PrimitiveName, inputs: number[]) => {
    const a = vals[inputs[0]];
    const s = SPECS[op];
    const channels = s.kind === 'dw' ? a.channels : s.expand === null ? shape.outC : s.expand * shape.inC;
    const res: Resolution = s.kind !== 'pw' && a.res === 'in' ? 'out' : a.res;
    nodes.push({ op, inputs });
    for (const v of inputs) used.add(v);
    vals.push({ channels, res });
  };
  // Body: random ops on random earlier values, leaving room for the finishing nodes.
  const body = rng.int(Math.max(1, maxNodes - 1));
  for (let i = 0; i < body; i++) {
    const a = pickInput(() => true)!;
    const inputs = [a];
    if (rng.next() < 0.25) {
      const b = pickInput((v) => v !== a && vals[v].channels === vals[a].channels && vals[v].res === vals[a].res);
      if (b !== null) inputs.push(b);
    }
    push(rng.pick(PRIMITIVES), inputs);
  }
  // Finish: reach 'out' resolution if needed, then a linear projection to outC.
  let last = vals.length - 1;
  if (vals[last].res !== 'out' && nodes.length < maxNodes - 1) {
    push(rng.pick(SPATIAL_OPS), [last]);
    last = vals.length - 1;
  }
  if (nodes.length < maxNodes) {
    const inputs = [last];
    const b = pickInput((v) => v !== last && vals[v].channels === vals[last].channels && vals[v].res === vals[last].res);
    if (b !== null && rng.next() < 0.2) inputs.push(b);
    push('pwl', inputs);
  }
  const fin = vals.length - 1;
  const outputs = [fin];
  for (let v = 1; v < fin; v++) if (vals[v].channels === shape.outC && vals[v].res === 'out' && rng.next() < 0.3) outputs.push(v);
  return pruneDeadNodes({ nodes, outputs });
}

/** A random valid cell (falls back to the reference cell after a bounded number of tries). */
export function randomCell(shape: LayerShape, rng: Rng, opts: RandomCellOptions = {}): Cell {
  checkShape(shape);
  const maxNodes = Math.min(MAX_NODES, Math.max(1, opts.maxNodes ?? MAX_NODES));
  if (hasShortcut(shape) && rng.next() < (opts.zeroProb ?? 0)) return zeroCell();
  for (let attempt = 0; attempt < 50; attempt++) {
    const c = drawCell(shape, rng, maxNodes);
    if (c.nodes.length <= maxNodes && tryValid(c, shape)) return c;
  }
  const ref = referenceCell(shape);
  if (ref.nodes.length > maxNodes) throw new CellError(`randomCell: no valid cell found with at most ${maxNodes} nodes`);
  return ref;
}

export interface MutateOptions {
  /** Probability of turning a cell into the zero cell where the layer has a shortcut (default 0.03). */
  zeroProb?: number;
  maxNodes?: number;
}

type Mutation = 'op' | 'rewire' | 'insert' | 'delete' | 'addInput' | 'removeInput' | 'addOutput' | 'removeOutput';
const MUTATIONS: Mutation[] = ['op', 'rewire', 'insert', 'delete', 'addInput', 'removeInput', 'addOutput', 'removeOutput'];

/** One random edit in graph form; may give an invalid or unchanged cell. */
function applyMutation(cell: Cell, rng: Rng, kind: Mutation, maxNodes: number): Cell {
  const g = toGraph(cell);
  const n = g.nodes.length;
  const earlier = (i: number): Array<GNode | null> => [null, ...g.nodes.slice(0, i)];
  switch (kind) {
    case 'op': {
      const node = rng.pick(g.nodes);
      node.op = rng.pick(PRIMITIVES.filter((p) => p !== node.op));
      break;
    }
    case 'rewire': {
      const i = rng.int(n);
      const node = g.nodes[i];
      const k = rng.int(node.inputs.length);
      node.inputs[k] = rng.pick(earlier(i).filter((v) => !node.inputs.includes(v)).concat(node.inputs[k]));
      break;
    }
    case 'insert': {
      if (n >= maxNodes) return cell;
      // Splice a new node into a random edge (a node input or an output), so it is live.
      const edges: Array<{ consumer: GNode | null; k: number }> = [];
      for (const node of g.nodes) node.inputs.forEach((_, k) => edges.push({ consumer: node, k }));
      g.outputs.forEach((_, k) => edges.push({ consumer: null, k }));
      const e = rng.pick(edges);
      const src = e.consumer ? e.consumer.inputs[e.k] : g.outputs[e.k];
      const fresh: GNode = { op: rng.pick(PRIMITIVES), inputs: [src] };
      if (e.consumer) {
        e.consumer.inputs[e.k] = fresh;
        g.nodes.splice(g.nodes.indexOf(e.consumer), 0, fresh);
      } else {
        g.outputs[e.k] = fresh;
        g.nodes.push(fresh);
      }
      break;
    }
    case 'delete': {
      if (n <= 1) return cell;
      // Bypass the node: its consumers read its first input instead.
      const victim = rng.pick(g.nodes);
      const by = victim.inputs[0];
      for (const node of g.nodes) node.inputs = node.inputs.map((v) => (v === victim ? by : v));
      g.outputs = g.outputs.flatMap((o) => (o !== victim ? [o] : by ? [by] : []));
      g.nodes = g.nodes.filter((v) => v !== victim);
      if (g.outputs.length === 0) return cell;
      break;
    }
    case 'addInput': {
      const cands = g.nodes.map((node, i) => ({ node, i })).filter(({ node, i }) => node.inputs.length === 1 && i > 0);
      if (cands.length === 0) return cell;
      const { node, i } = rng.pick(cands);
      const others = earlier(i).filter((v) => !node.inputs.includes(v));
      node.inputs.push(rng.pick(others));
      break;
    }
    case 'removeInput': {
      const cands = g.nodes.filter((node) => node.inputs.length === 2);
      if (cands.length === 0) return cell;
      const node = rng.pick(cands);
      node.inputs.splice(rng.int(2), 1);
      break;
    }
    case 'addOutput': {
      const cands = g.nodes.filter((node) => !g.outputs.includes(node));
      if (cands.length === 0) return cell;
      g.outputs.push(rng.pick(cands));
      break;
    }
    case 'removeOutput': {
      if (g.outputs.length < 2) return cell;
      g.outputs.splice(rng.int(g.outputs.length), 1);
      break;
    }
  }
  return pruneDeadNodes(fromGraph(g));
}

/**
 * A valid cell different from `cell` (compared by canonical text), by one random edit: change an
 * op, rewire an input, insert a node on an edge, delete (bypass) a node, add/remove a second input
 * or an output. Nodes left dead by an edit are pruned. Where the layer has a shortcut the result is
 * occasionally the zero cell, and the zero cell mutates into a small random cell. Throws CellError
 * when no different valid cell is found within a bounded number of tries.
 */
export function mutateCell(cell: Cell, shape: LayerShape, rng: Rng, opts: MutateOptions = {}): Cell {
  validateCell(cell, shape);
  const maxNodes = Math.min(MAX_NODES, opts.maxNodes ?? MAX_NODES);
  const key = formatCell(cell);
  const shortcut = hasShortcut(shape);
  if (isZeroCell(cell)) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const c = randomCell(shape, rng, { maxNodes: Math.min(3, maxNodes) });
      if (!isZeroCell(c)) return c;
    }
    throw new CellError('mutateCell: could not leave the zero cell');
  }
  if (shortcut && rng.next() < (opts.zeroProb ?? 0.03)) return zeroCell();
  for (let attempt = 0; attempt < 200; attempt++) {
    const c = applyMutation(cell, rng, rng.pick(MUTATIONS), maxNodes);
    if (isZeroCell(c)) continue;
    if (tryValid(c, shape) && formatCell(c) !== key) return c;
  }
  throw new CellError(`mutateCell: no valid different cell found from '${key}'`);
}
