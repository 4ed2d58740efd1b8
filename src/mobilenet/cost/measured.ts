/**
 * A measured cost model (ms): the cells of a cell space timed on this CPU with the native profiler,
 * so a learned space (whose cells no published latency table lists) gets the same kind of
 * per-candidate latency matrix the ProxylessNAS tables give: every node of a cell is timed as one op (1×1 / 3×3 conv or depthwise
 * conv, + BN folded into the bias, + ReLU6 where the primitive has one) on its own tensor shapes,
 * and a cell costs the sum of its nodes. Element-wise adds (two-input nodes, several outputs, the
 * layer shortcut) are not priced, as the ProxylessNAS tables price an MBConv without its skip add.
 * Caches as --cache-flush auto sets them for a table (latency/working-set.ts): L1 evicted where the
 * space's largest network fits in L2 (CIFAR-layout cells), 2 x L2 flushed otherwise; docs/results.md
 * ("Latency predictor") has how each predicts whole networks.
 */
import { outSize } from '../../latency/keys.js';
import {
  autoFlushBytes,
  type BackendName,
  describeBackend,
  flushStamp,
  loadNative,
  type NativeBinding,
  type NativeOp,
  requireBackend,
} from '../../latency/profiler.js';
import { autoFlushFor, opsBytes } from '../../latency/working-set.js';
import type { Cell, LayerShape } from '../cell.js';
import { cellNodeOps } from '../cell-latency-keys.js';
import { type MobileNetLayout, layoutSpace } from '../layout.js';
import type { CellSpace } from '../space.js';
import type { CostModel } from './model.js';

/** One op per node, in node order (empty for the zero cell). Throws CellError for a cell invalid at the shape. */
export function cellNativeOps(cell: Cell, shape: LayerShape): NativeOp[] {
  return cellNodeOps(cell, shape).map(({ depthwise, inH, inC, outC, kernel, stride, relu6 }) =>
    depthwise ? { type: 'dwconv', inH, inC, kernel, stride, relu6 } : { type: 'conv', inH, inC, outC, kernel, stride, relu6 },
  );
}

/** The layout's fixed part, as the cell networks build it: stem conv, first block (dw3 + 1×1), feature mix, pool + classifier. */
export function skeletonNativeOps(layout: MobileNetLayout): NativeOp[] {
  const h0 = outSize(layout.inputSize, layout.stemStride);
  const last = layoutSpace(layout).positions.at(-1)!;
  const hl = outSize(last.inH, last.stride);
  return [
    { type: 'conv', inH: layout.inputSize, inC: 3, outC: layout.stemC, kernel: 3, stride: layout.stemStride },
    { type: 'mbconv', inH: h0, inC: layout.stemC, outC: layout.firstBlockC, expand: 1, kernel: 3 },
    { type: 'conv', inH: hl, inC: last.outC, outC: layout.featureMixC, kernel: 1 },
    { type: 'logits', inH: hl, inC: layout.featureMixC, outC: layout.classes },
  ];
}

/**
 * The bytes of a cell space's largest network: the skeleton plus the largest cell of each layer.
 * What --cache-flush auto decides by, for `profile --space-file` and the measured cost model alike.
 */
export function cellSpaceBytes(space: Pick<CellSpace, 'layout' | 'shapes' | 'cells'>): number {
  return largestNetworkBytes(skeletonNativeOps(space.layout), spaceCellOps(space));
}

/** Each layer's cells as native ops (cellNativeOps on the layer's shape). */
const spaceCellOps = (space: Pick<CellSpace, 'shapes' | 'cells'>): NativeOp[][][] =>
  space.cells.map((cells, b) => cells.map((c) => cellNativeOps(c, space.shapes[b])));

/** cellSpaceBytes of ops already built: the skeleton plus the largest cell of each layer. */
const largestNetworkBytes = (skeleton: readonly NativeOp[], cellOps: readonly NativeOp[][][]): number =>
  opsBytes(skeleton) + cellOps.reduce((s, layer) => s + Math.max(0, ...layer.map(opsBytes)), 0);

export interface PriceOptions {
  backend?: BackendName;
  threads?: number;
  repeats?: number;
  warmup?: number;
  pin?: boolean;
  /**
   * Scratch memory touched before each run; 0 = warm caches; 'auto' (default): as profile's
   * (latency/working-set.ts autoFlushFor) for the space's largest network.
   */
  flushBytes?: number | 'auto';
  native?: NativeBinding;
  /**
   * Op times (ms) by op, shared between pricings: spaces priced with one cache give the same op the
   * same time, so comparing them is not blurred by run-to-run drift of the machine (~5-10 % here).
   * Only share it between pricings with the same backend, threads and flushing.
   */
  cache?: Map<string, number>;
  onProgress?: (done: number, total: number) => void;
}

const opKey = (op: NativeOp) => JSON.stringify(op);

/**
 * Times every distinct op of the space's cells and skeleton once (median of `repeats` runs) and
 * sums them per cell. A space of 11 layers x 4 cells has ~100 distinct ops: seconds at 32×32.
 */
export async function measuredCost(
  space: Pick<CellSpace, 'layout' | 'shapes' | 'cells'>,
  o: PriceOptions = {},
): Promise<CostModel> {
  const native = o.native ?? loadNative();
  const backend = o.backend ?? 'onednn';
  const info = requireBackend(native, backend);
  const cpu = native.cpuInfo();
  const cellOps = spaceCellOps(space);
  const skeleton = skeletonNativeOps(space.layout);
  const auto = o.flushBytes === undefined || o.flushBytes === 'auto';
  const chosen = auto ? autoFlushFor(largestNetworkBytes(skeleton, cellOps)) : (o.flushBytes as number);
  const flushBytes = chosen === 'auto' ? autoFlushBytes(cpu.cacheBytes) : chosen;
  const threads = o.threads ?? 1;
  const opts = { backend, threads, repeats: o.repeats ?? 20, warmup: o.warmup ?? 3, pin: o.pin ?? true, flushBytes };

  const distinct = new Map<string, NativeOp>();
  for (const op of [...skeleton, ...cellOps.flat(2)]) distinct.set(opKey(op), op);
  const ms = o.cache ?? new Map<string, number>();
  let done = 0;
  o.onProgress?.(0, distinct.size);
  for (const [key, op] of distinct) {
    if (!ms.has(key)) ms.set(key, (await native.profile([op], opts)).medianMs);
    o.onProgress?.(++done, distinct.size);
  }
  const sum = (ops: NativeOp[]) => ops.reduce((s, op) => s + ms.get(opKey(op))!, 0);
  return {
    unit: 'ms',
    source: 'measured',
    fixed: sum(skeleton),
    perPosition: cellOps.map((layer) => layer.map(sum)),
    meta: {
      cpu: cpu.model,
      backend,
      library: describeBackend(info),
      threads: String(threads),
      'cache-flush': flushStamp(flushBytes),
      ops: String(distinct.size),
      date: new Date().toISOString(),
    },
  };
}
