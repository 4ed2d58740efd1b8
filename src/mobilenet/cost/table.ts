/**
 * A latency cost model from a lookup table (ms). When the table holds the layout's own keys (e.g.
 * one profiled for the CIFAR layout with `wgnas profile`), those are used ('table'). The published
 * Pixel-1 table only covers the 224×224 ImageNet space, so for the CIFAR layout each block position
 * (stage s, block d) is priced as ImageNet position (s, d) with the same candidate, plus the
 * ImageNet stem / first block / Conv_1 / Logits ('imagenet-proxy'): the latency of the searched
 * choices deployed at ImageNet scale, on the table's device.
 */
import type { ProxylessArch } from '../../latency/arch.js';
import type { LatencyTable } from '../../latency/lut.js';
import { findLatency, type LatencyMatrix, type MissingPolicy, supernetLatencies } from '../../latency/predictor.js';
import { archFromChoices } from '../../latency/space.js';
import { cellKeys, isNodeKey, skeletonKeys } from '../cell-latency-keys.js';
import { IMAGENET_LAYOUT, type MobileNetLayout, layoutSpace, positionStages } from '../layout.js';
import type { CellSpace } from '../space.js';
import type { CostModel } from './model.js';

export interface TableCostOptions {
  missing?: MissingPolicy;
  /** Refuse the ImageNet-position fallback. */
  directOnly?: boolean;
}

/**
 * The table's cost model of the layout, or (cost null) the keys the table lacks: the layout's own
 * keys, when no fallback applies or the fallback misses keys too. The caller decides what a miss
 * means (the CLI names the keys and the --missing policies).
 */
export type TableCostResult = { cost: CostModel; missing: [] } | { cost: null; missing: string[] };

/** The matrix with the fixed first block folded into the fixed part (it is not searched). */
function foldFirstBlock(m: LatencyMatrix): LatencyMatrix {
  return { fixedMs: m.fixedMs + m.perPosition[0][0], perPosition: m.perPosition.slice(1) };
}

export function tableCost(table: LatencyTable, layout: MobileNetLayout, o: TableCostOptions = {}): TableCostResult {
  const missingPolicy = o.missing ?? 'error';
  const direct = supernetLatencies(table, layoutSpace(layout), { missing: missingPolicy });
  if (direct.missing.length === 0) {
    const m = foldFirstBlock(direct);
    return { cost: { unit: 'ms', source: 'table', fixed: m.fixedMs, perPosition: m.perPosition }, missing: [] };
  }
  if (o.directOnly || layout.name === IMAGENET_LAYOUT.name) return { cost: null, missing: direct.missing };
  const proxy = imagenetPositionsCost(table, layout, missingPolicy);
  return proxy.cost ? proxy : { cost: null, missing: direct.missing };
}

/**
 * `layout`'s ImageNet-layout twin, the network 'imagenet-proxy' prices: the ImageNet space
 * (stem, first block, widths, strides, Conv_1 and its 1000-class Logits at 224x224) with `layout`'s
 * depths, so that its block (stage s, block d) is ImageNet's (s, d), with the same candidates. A
 * choice vector of `layout` is one of its twin (toNetConfig(twin, choices) is the network priced;
 * `wgnas predict --imagenet-twin` prices a net.config so). Throws when the layout cannot be mapped
 * onto the ImageNet stages (a usage error, not a table miss).
 */
export function imagenetTwinLayout(layout: MobileNetLayout): MobileNetLayout {
  const ref = IMAGENET_LAYOUT;
  if (layout.widths.length !== ref.widths.length) {
    throw new Error(
      `layout ${layout.name}: ${layout.widths.length} stages cannot be priced as the ${ref.widths.length} ImageNet stages`,
    );
  }
  if (layout.kernels.join() !== ref.kernels.join() || layout.expands.join() !== ref.expands.join()) {
    throw new Error(`layout ${layout.name}: candidate set differs from the ImageNet space's, cannot price it with its table`);
  }
  layout.depths.forEach((d, s) => {
    if (d > ref.depths[s])
      throw new Error(`layout ${layout.name}: stage ${s} has ${d} blocks, more than ImageNet's ${ref.depths[s]}`);
  });
  return { ...ref, name: `${layout.name}'s imagenet twin`, depths: [...layout.depths] };
}

/**
 * The ImageNet-layout twin of `layout`'s network of `choices` (one per searchable position, as
 * toNetConfig takes them): the network whose table sum is the 'imagenet-proxy' cost of `choices`.
 */
export function imagenetTwinArch(layout: MobileNetLayout, choices: readonly number[]): ProxylessArch {
  return archFromChoices(layoutSpace(imagenetTwinLayout(layout)), [0, ...choices]);
}

/**
 * Prices `layout`'s positions as the same (stage, block) positions of the ImageNet space (the
 * network imagenetTwinLayout describes). Throws when the layout cannot be mapped onto the ImageNet
 * stages (a usage error, not a table miss).
 */
export function imagenetPositionsCost(
  table: LatencyTable,
  layout: MobileNetLayout,
  missing: MissingPolicy = 'error',
): TableCostResult {
  const ref = IMAGENET_LAYOUT;
  imagenetTwinLayout(layout);
  const priced = supernetLatencies(table, layoutSpace(ref), { missing });
  if (priced.missing.length > 0) return { cost: null, missing: priced.missing };
  const full = foldFirstBlock(priced);
  const refIndex = new Map(positionStages(ref).map((p, i) => [`${p.stage}/${p.depth}`, i]));
  const ours = layoutSpace(layout).positions.slice(1);
  const perPosition = positionStages(layout).map((p, b) => {
    const row = full.perPosition[refIndex.get(`${p.stage}/${p.depth}`)!];
    if (row.length !== ours[b].candidates.length) {
      throw new Error(
        `layout ${layout.name}: position ${b} has ${ours[b].candidates.length} candidates, its ImageNet counterpart ${row.length}`,
      );
    }
    return row.slice();
  });
  return { cost: { unit: 'ms', source: 'imagenet-proxy', fixed: full.fixedMs, perPosition }, missing: [] };
}

/**
 * A cell space priced by its nodes' keys (cell-latency-keys.ts), the keys `wgnas profile
 * --space-file` writes: the skeleton's keys make the fixed part, a cell costs the sum of its nodes
 * (the zero cell nothing). Any cell space, learned or hand-designed, and only the keys it uses.
 */
export function cellTableCost(
  table: LatencyTable,
  space: Pick<CellSpace, 'layout' | 'shapes' | 'cells'>,
  o: Pick<TableCostOptions, 'missing'> = {},
): TableCostResult {
  const missing = new Set<string>();
  const ms = (key: string) => {
    const l = findLatency(table, key, { missing: o.missing ?? 'error' });
    if (!l) missing.add(key);
    return l ? l.ms : NaN;
  };
  const sum = (keys: string[]) => keys.reduce((t, k) => t + ms(k), 0);
  const fixed = sum(skeletonKeys(space.layout));
  const perPosition = space.cells.map((cells, b) => cells.map((c) => sum(cellKeys(c, space.shapes[b]))));
  if (missing.size) return { cost: null, missing: [...missing] };
  return { cost: { unit: 'ms', source: 'table', fixed, perPosition }, missing: [] };
}

/**
 * A cell space's cost model from a table of either kind: its cells' node keys when the table has
 * any (a table of `wgnas profile --space-file`) or the space is learned (no other key prices its
 * cells), else the hand-designed space's MBConv blocks' keys (the published tables, `wgnas profile
 * --space cifar|proxyless`; tableCost). The keys missing are those of the kind chosen.
 */
export function spaceTableCost(
  table: LatencyTable,
  space: CellSpace,
  o: TableCostOptions = {},
): TableCostResult & { by: 'nodes' | 'blocks' } {
  if (space.file.source !== 'hand-designed' || [...table.entries.keys()].some(isNodeKey))
    return { ...cellTableCost(table, space, o), by: 'nodes' };
  const byBlocks = tableCost(table, space.layout, o);
  if (byBlocks.cost?.perPosition.some((row, b) => row.length !== space.cells[b]?.length))
    throw new Error(
      `the table prices ${byBlocks.cost.perPosition.map((x) => x.length).join('/')} blocks per layer, the space has ${space.cells.map((c) => c.length).join('/')} cells`,
    );
  return { ...byBlocks, by: 'blocks' };
}
