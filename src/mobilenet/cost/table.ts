/**
 * A latency cost model from a lookup table (ms). When the table holds the layout's own keys (e.g.
 * one profiled for the CIFAR layout with `wgnas profile`), those are used ('table'). The published
 * Pixel-1 table only covers the 224×224 ImageNet space, so for the CIFAR layout each block position
 * (stage s, block d) is priced as ImageNet position (s, d) with the same candidate, plus the
 * ImageNet stem / first block / Conv_1 / Logits ('imagenet-proxy'): the latency of the searched
 * choices deployed at ImageNet scale, on the table's device.
 */
import type { LatencyTable } from '../../latency/lut.js';
import { type LatencyMatrix, type MissingPolicy, supernetLatencies } from '../../latency/predictor.js';
import { IMAGENET_LAYOUT, type MobileNetLayout, layoutSpace, positionStages } from '../layout.js';
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
 * Prices `layout`'s positions as the same (stage, block) positions of the ImageNet space. Throws
 * when the layout cannot be mapped onto the ImageNet stages (a usage error, not a table miss).
 */
export function imagenetPositionsCost(
  table: LatencyTable,
  layout: MobileNetLayout,
  missing: MissingPolicy = 'error',
): TableCostResult {
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
