/**
 * Random cells and mutation (AutoSpace's evolution operators). Edits happen in a graph form whose
 * inputs point at nodes, so inserting and deleting never renumbers by hand; every result is
 * validated against the layer shape.
 */
import type { Rng } from '../util/rng.js';
import {
  type Cell,
  CellError,
  type CellNode,
  type LayerShape,
  MAX_NODES,
  PRIMITIVES,
  type PrimitiveName,
  type Resolution,
  checkLayerShape,
  hasShortcut,
  isZeroCell,
  liveNodes,
  primitiveSpec,
  referenceCell,
  validateCell,
  zeroCell,
} from './cell.js';
import { formatCell } from './cell-text.js';

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

/** Every primitive that is not 1x1 (dw{k} per MBCONV_KERNELS, c3e*), in PRIMITIVES order. */
const SPATIAL_OPS: readonly PrimitiveName[] = PRIMITIVES.filter((op) => primitiveSpec(op).kind !== 'pw');

/** One random draw; may be invalid (the caller retries). */
function drawCell(shape: LayerShape, rng: Rng, maxNodes: number): Cell {
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
    const s = primitiveSpec(op);
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
  checkLayerShape(shape);
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
      node.inputs[k] = rng.pick(
        earlier(i)
          .filter((v) => !node.inputs.includes(v))
          .concat(node.inputs[k]),
      );
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
