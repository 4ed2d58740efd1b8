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
 *
 * An MBConv block is the cell [pw{e}] → dw{k} → pwl (mbconvCell): the ProxylessNAS candidates and the
 * skeleton's first block are cells like any learned one. Text form: cell-text.ts; random cells and
 * mutation: cell-mutation.ts.
 */
import { outSize } from '../latency/keys.js';
import {
  isMbconvExpand,
  isMbconvKernel,
  MBCONV_EXPANDS,
  MBCONV_KERNELS,
  type MbconvExpand,
  type MbconvKernel,
  PROXYLESS_EXPANDS,
} from '../latency/space.js';
import { UserFacingError } from '../util/errors.js';

/** The ops of a cell; mbconvCell needs a dw{k} per MBCONV_KERNELS entry and a pw{e} per expand > 1 (a type error otherwise). */
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

export class CellError extends UserFacingError {
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

/** Throws CellError unless channels and inH are positive integers and the stride is 1 or 2. */
export function checkLayerShape(shape: LayerShape): void {
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
  if (!cell || !Array.isArray(cell.nodes) || !Array.isArray(cell.outputs))
    throw new CellError('a cell needs nodes and outputs arrays');
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
        throw new CellError(
          `${where}: input ${v} does not refer to an earlier value (0 = cell input, 1..${i} = nodes 0..${i - 1})`,
        );
      }
    }
    if (node.inputs.length === 2 && node.inputs[0] === node.inputs[1])
      throw new CellError(`${where}: duplicate input ${node.inputs[0]}`);
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
export function liveNodes(cell: Cell): boolean[] {
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
  checkLayerShape(shape);
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
    if (spec.kind === 'dw' && !(a.channels > 0))
      throw new CellError(`${where}: depthwise op on an input with ${a.channels} channels`);
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

// ---- constructors -------------------------------------------------------------------------------

export function zeroCell(): Cell {
  return { nodes: [], outputs: [] };
}

/** MBConv: [pw{expand}] → dw{kernel} → pwl; expand 1 has no expansion node. */
export function mbconvCell(kernel: MbconvKernel, expand: MbconvExpand): Cell {
  if (!isMbconvKernel(kernel)) throw new CellError(`mbconvCell: kernel ${kernel} is not ${orList(MBCONV_KERNELS)}`);
  if (!isMbconvExpand(expand)) throw new CellError(`mbconvCell: expand ${expand} is not ${orList(MBCONV_EXPANDS)}`);
  // Typed as the primitives they name: a kernel or ratio without its primitive fails typecheck here.
  const dw: PrimitiveName = `dw${kernel}` as const;
  if (expand === 1)
    return {
      nodes: [
        { op: dw, inputs: [0] },
        { op: 'pwl', inputs: [1] },
      ],
      outputs: [2],
    };
  return {
    nodes: [
      { op: `pw${expand}` as const satisfies PrimitiveName, inputs: [0] },
      { op: dw, inputs: [1] },
      { op: 'pwl', inputs: [2] },
    ],
    outputs: [3],
  };
}

/** Kernel and expand of a cell that is mbconvCell(kernel, expand), else null. */
export function mbconvOf(cell: Cell): { kernel: MbconvKernel; expand: MbconvExpand } | null {
  const text = JSON.stringify(cell);
  for (const kernel of MBCONV_KERNELS)
    for (const expand of MBCONV_EXPANDS) if (JSON.stringify(mbconvCell(kernel, expand)) === text) return { kernel, expand };
  return null;
}

/** "3, 5 or 7" */
function orList(xs: readonly number[]): string {
  return xs.length > 1 ? `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}` : String(xs[0]);
}

/** The MobileNetV2 reference block's kernel and expansion ratio. */
export const REFERENCE_MBCONV = Object.freeze({ kernel: 3, expand: 6 } as const);

/** The ProxylessNAS hand-designed candidates in words: "MBConv k3/5/7 x e3/6" (help texts). */
export const HAND_DESIGNED_MBCONV = `MBConv k${MBCONV_KERNELS.join('/')} x e${PROXYLESS_EXPANDS.join('/')}`;

/** The MobileNetV2 reference block (REFERENCE_MBCONV: MBConv k3 e6); valid for every layer shape. */
export function referenceCell(shape: LayerShape): Cell {
  checkLayerShape(shape);
  return mbconvCell(REFERENCE_MBCONV.kernel, REFERENCE_MBCONV.expand);
}

/**
 * The ProxylessNAS candidates of one position, in src/latency/space.ts order: expand-major over
 * kernels (e3 k3, e3 k5, e3 k7, e6 k3, ...), then 'zero' where the layer has a shortcut.
 */
export function handDesignedCells(
  shape: LayerShape,
  {
    kernels = MBCONV_KERNELS,
    expands = PROXYLESS_EXPANDS,
  }: { kernels?: readonly MbconvKernel[]; expands?: readonly MbconvExpand[] } = {},
): Cell[] {
  checkLayerShape(shape);
  const cells: Cell[] = [];
  for (const e of expands) for (const k of kernels) cells.push(mbconvCell(k, e));
  if (hasShortcut(shape)) cells.push(zeroCell());
  return cells;
}
