/**
 * --group auto for --group-mode stacked: the bytes a stacked group holds, estimated from what it
 * runs (its plan: the union of ops per edge sets the activations its tape keeps), and groups of
 * consecutive cells packed to a budget. Deterministic and backend-free: the boundaries depend on
 * the selection, the network, the batch and the budget only, so a resumed run keeps them.
 */
import { type Nb201NetConfig } from '../nn/nb201-net.js';
import { type CellPlan, planCell, stackedEdgeOps, stackedRecordDims, stackedTapeBytes } from '../nn/nb201-stacked-plan.js';
import { DEFAULT_ARENA_BYTES, gramScratch, planChunks } from '../proxies/correlation-proxies.js';
import type { Nb201Cell } from '../spaces/nb201.js';

export interface StackedMemoryOptions {
  /** Whether a pass runs backward (WRCor): its gradients and records' gradients are held too. */
  backward: boolean;
  /** The correlations' arena bound (the backend's: min(DEFAULT_ARENA_BYTES, maxTensorBytes)). */
  arenaBytes?: number;
  maxBatchedLayers?: number;
  inputHW?: number;
}

/**
 * Bytes a stacked group of `cells` holds at its peak while scored on a batch of n: the stacked
 * network's weights and tape (stackedTapeBytes), the correlations' scratch for its records and
 * the summed matrices. Meant to lie above the measured peak (test/zeroshot/stacked-memory.test.ts).
 */
export function stackedGroupBytes(cells: readonly Nb201Cell[], cfg: Nb201NetConfig, n: number, o: StackedMemoryOptions): number {
  return stackedPlansBytes(
    cells.map((c) => planCell(c, cfg.unfedEdges ?? 'skip')),
    cfg,
    n,
    o,
  );
}

/** stackedGroupBytes from the cells' plans (planCell), which packing computes once per cell. */
export function stackedPlansBytes(plans: readonly CellPlan[], cfg: Nb201NetConfig, n: number, o: StackedMemoryOptions): number {
  const edges = stackedEdgeOps(plans); // the union per edge: once per group, not once per network
  const items: Array<{ slot: number; d: number }> = [];
  plans.forEach((_, g) =>
    stackedRecordDims(plans, cfg, g, o.inputHW, edges).forEach(({ d, grad }) => {
      items.push({ slot: 2 * g, d });
      if (o.backward && grad) items.push({ slot: 2 * g + 1, d });
    }),
  );
  const arenaBytes = o.arenaBytes ?? DEFAULT_ARENA_BYTES;
  const { arenaElems, matsElems } = gramScratch(planChunks(items, n, arenaBytes, o.maxBatchedLayers), n, arenaBytes);
  // The summed matrices: 2 outputs per slot (WRCor's weighted and unweighted).
  const sums = 2 * 2 * plans.length * n * n;
  return stackedTapeBytes(plans, cfg, n, o.backward, o.inputHW, edges) + 4 * (arenaElems + matsElems + sums);
}

/**
 * Group boundaries for `cells`, in order: each group the longest run of consecutive cells from
 * where the last ended, up to `maxGroup`, whose estimate `bytesOf` is within budgetBytes (at least
 * one cell, even over it). Yields [start, end) per group as it is found, so scoring starts after
 * the first group's estimate, not after all 15625 cells'.
 */
export function* packedGroups(
  count: number,
  bytesOf: (start: number, end: number) => number,
  budgetBytes: number,
  maxGroup: number,
): Generator<[number, number]> {
  for (let start = 0; start < count;) {
    let end = start + 1;
    while (end < count && end - start < maxGroup && bytesOf(start, end + 1) <= budgetBytes) end++;
    yield [start, end];
    start = end;
  }
}

/** packedGroups, all at once. */
export function packGroups(
  count: number,
  bytesOf: (start: number, end: number) => number,
  budgetBytes: number,
  maxGroup: number,
): Array<[number, number]> {
  return [...packedGroups(count, bytesOf, budgetBytes, maxGroup)];
}
