/**
 * Lookup-table keys of cell spaces (AutoSpace's learned spaces, src/mobilenet/space-file.ts): the
 * skeleton's fixed parts keep the ProxylessNAS keys (Conv, the first expanded_conv, Conv_1,
 * Logits), and a cell costs the sum of its nodes, each a conv or depthwise conv key (keys.ts). As
 * in the measured cost model (src/mobilenet/cost/measured.ts), the element-wise adds of two-input
 * nodes, of several outputs and of the layer shortcut are not priced, as the ProxylessNAS tables
 * price an MBConv without its skip add.
 */
import { expandedConvKey, featureMixKey, logitsKey, nodeKey, type NodeOp, outSize, stemKey } from '../latency/keys.js';
import { entryMs, type LatencyTable } from '../latency/lut.js';
import { MissingLatencyError } from '../latency/predictor.js';
import { archToNativeOps } from '../latency/arch.js';
import type { NativeOp } from '../latency/profiler.js';
import { type Cell, type LayerShape, isZeroCell, primitiveSpec, validateCell } from './cell.js';
import { cellNetArch } from './proxyless-arch.js';
import { type MobileNetLayout, layerShapes, layoutSpace } from './layout.js';

/** A key of a cell node (conv-/dwconv-, what `wgnas profile --space-file` times), not of a whole block. */
export const isNodeKey = (k: string): boolean => k.startsWith('conv-') || k.startsWith('dwconv-');

/** What prices a node (latency/keys.ts's NodeOp, which names its key). */
export type CellNodeOp = NodeOp;

/**
 * The op of every node of `cell` at `shape`, in node order (none for the zero cell): what its
 * latency keys name and the measured cost model times. Throws CellError for a cell invalid at the shape.
 */
export function cellNodeOps(cell: Cell, shape: LayerShape): CellNodeOp[] {
  const infos = validateCell(cell, shape);
  if (isZeroCell(cell)) return [];
  return cell.nodes.map((n, i) => {
    const spec = primitiveSpec(n.op);
    const f = infos[i];
    return {
      depthwise: spec.kind === 'dw',
      inH: f.inH,
      inC: f.inChannels,
      outC: f.channels,
      kernel: spec.kernel,
      stride: f.stride,
      relu6: spec.act,
    };
  });
}

/** One key per node of `cell` at `shape`, in node order (none for the zero cell). */
export function cellKeys(cell: Cell, shape: LayerShape): string[] {
  return cellNodeOps(cell, shape).map(nodeKey);
}

/** The skeleton's keys: stem conv, fixed first block (MBConv e1 k3), feature mix, pool + classifier. */
export function skeletonKeys(layout: MobileNetLayout): string[] {
  const space = layoutSpace(layout);
  const first = space.positions[0];
  const last = space.positions.at(-1)!;
  const h = outSize(last.inH, last.stride);
  return [
    stemKey(layout.inputSize, layout.stemC, layout.stemStride),
    expandedConvKey({ inH: first.inH, inC: first.inC, outC: first.outC, expand: 1, kernel: 3, stride: 1, idskip: false }),
    featureMixKey(h, last.outC, layout.featureMixC),
    logitsKey(h, layout.featureMixC, layout.classes),
  ];
}

/** Every distinct key of a cell space (skeleton first, then the cells' nodes layer by layer). */
export function cellSpaceKeys(space: {
  layout: MobileNetLayout;
  shapes: readonly LayerShape[];
  cells: readonly (readonly Cell[])[];
}): string[] {
  const keys = new Set(skeletonKeys(space.layout));
  space.cells.forEach((cells, b) => {
    for (const c of cells) for (const k of cellKeys(c, space.shapes[b])) keys.add(k);
  });
  return [...keys];
}

/** Table latency of one architecture of a cell space (`cells[b]` fills layer b): skeleton + the cells' nodes. */
export function predictCellArch(
  table: LatencyTable,
  layout: MobileNetLayout,
  shapes: readonly LayerShape[],
  cells: readonly Cell[],
  field: 'mean' | 'median' = 'mean',
): number {
  const keys = [...skeletonKeys(layout), ...cells.flatMap((c, b) => cellKeys(c, shapes[b]))];
  const missing = [...new Set(keys.filter((k) => !table.entries.has(k)))];
  if (missing.length > 0) throw new MissingLatencyError(missing);
  return keys.reduce((s, k) => s + entryMs(table.entries.get(k)!, field), 0);
}

/**
 * The network as the native addon's op chain, the ops `predict --measure` times for a net.config
 * (latency/arch.ts archToNativeOps of proxyless-arch.ts cellNetArch): stem, fixed first block, one
 * MBConv per non-zero cell (its identity skip where the layer has a shortcut), feature mix, pool +
 * classifier. Null when a cell is no MBConv: a cell's node graph is not a chain, so the addon
 * cannot run the network whole.
 */
export function cellNetNativeOps(layout: MobileNetLayout, cells: readonly Cell[]): NativeOp[] | null {
  const arch = cellNetArch(layout, cells);
  return arch && archToNativeOps(arch);
}

/**
 * A cell network's latency-table parts priced by its nodes' keys, in network order: stem, the
 * fixed first block, every node of every layer's cell (none for the zero cell), feature mix,
 * pool + classifier. Names as latency/arch.ts archParts names blocks (block b + 1 is layer b).
 */
export function cellNetParts(layout: MobileNetLayout, cells: readonly Cell[]): Array<{ name: string; key: string }> {
  const [stem, first, mix, logits] = skeletonKeys(layout);
  const shapes = layerShapes(layout);
  return [
    { name: 'Conv', key: stem },
    { name: 'block 0', key: first },
    ...cells.flatMap((c, b) => cellKeys(c, shapes[b]).map((key, i) => ({ name: `block ${b + 1} node ${i + 1}`, key }))),
    { name: 'Conv_1', key: mix },
    { name: 'Logits', key: logits },
  ];
}
