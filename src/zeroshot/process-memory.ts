/**
 * What one scoring process holds at its peak, estimated before any work, so that `score --procs N`
 * and `worker --concurrency N` can set N of them against the machine's memory. A backend's buffer
 * pool keeps the largest working set it has met (a smaller cell reuses its buffers; returning the
 * idle ones whenever a cell used under half of them cost 35% more CPU time: docs/results.md), so a
 * long run holds what its largest cell needs: NAS-Bench-201's cell with a 3x3 convolution on every
 * edge, the widest tape. That is estimated as a stacked group of the one cell (stackedGroupBytes,
 * with the backward pass): 1149 MiB against the CPU pool's measured peak of 991-1028 MiB for each
 * proxy at batch 64 (2228 against 2031 MiB at batch 128), in proportion to the batch. With the
 * process and the pool's slack: 1.5 GiB against a measured peak resident size of 1.13 GiB (wrcor)
 * and 1.32 GiB (--proxies all) at batch 64.
 */
import { type Nb201NetConfig } from '../nn/nb201-net.js';
import { staticPass } from '../proxies/passes.js';
import { resolveProxies } from '../proxies/registry.js';
import { NB201_NUM_EDGES, type Nb201Cell } from '../spaces/nb201.js';
import { stackedGroupBytes } from './stacked-memory.js';

const MiB = 2 ** 20;

/** The process without its tensors: Node, the sources, the addon and oneDNN (170-260 MiB measured). */
export const PROCESS_BASE_BYTES = 256 * MiB;

/**
 * The pool holds more than its peak in use: idle buffers of the sizes another pass used (scoring
 * every proxy held 11-13% more than it used at once, about what the estimate lies above the use).
 */
const POOL_SLACK = 1.1;

/** The NAS-Bench-201 cell with the largest working set. */
export const LARGEST_NB201_CELL: Nb201Cell = { edges: new Array(NB201_NUM_EDGES).fill('nor_conv_3x3') };

/**
 * Bytes one process scoring `proxies` on NB201 networks `net` at batch `n` holds at its peak
 * (buffer pool and process; an upper estimate). Proxies computed from the network's shapes alone
 * (params, flops) run no network: the process alone. `group`: the architectures a pass scores
 * together (score --group G), each group's working set held at once, in either --group-mode
 * (WRCor on a small net at G = 4: 3.7x one cell's pool separate, 4.8x stacked, 1.6x and 1.2x under this).
 */
export function scoringProcessBytes(
  net: Nb201NetConfig,
  n: number,
  proxies: readonly string[],
  group = 1,
  /** The cells the run scores, when known: its largest one's working set (default: the largest of the space). */
  selection?: readonly Nb201Cell[],
): number {
  if (resolveProxies(proxies).every((p) => p.unit.pass === staticPass)) return PROCESS_BASE_BYTES;
  // Estimated with the backward pass whatever the proxies: a forward-only estimate fell ~3 % short
  // of naswot's pool on a light cell (its records and sign codes), so it is not an upper bound.
  const largest = largestCell(selection, net, n);
  const cells = new Array<Nb201Cell>(Math.max(1, group)).fill(largest);
  return PROCESS_BASE_BYTES + Math.round(POOL_SLACK * stackedGroupBytes(cells, net, n, { backward: true }));
}

/** Beyond this many cells the selection is taken to hold the space's largest (cheaper than planning each). */
const MAX_CELLS_PLANNED = 2000;

/** The cell of `selection` with the largest working set (LARGEST_NB201_CELL for none or a large one). */
function largestCell(selection: readonly Nb201Cell[] | undefined, net: Nb201NetConfig, n: number): Nb201Cell {
  if (!selection?.length || selection.length > MAX_CELLS_PLANNED) return LARGEST_NB201_CELL;
  let best = selection[0];
  let bestBytes = -1;
  const seen = new Set<string>();
  for (const c of selection) {
    const key = c.edges.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const b = stackedGroupBytes([c], net, n, { backward: true });
    if (b > bestBytes) [best, bestBytes] = [c, b];
  }
  return best;
}

/** The largest pool figures a run has seen (a scorer's, after each pass). */
export interface PoolPeak {
  /** Bytes of live tensors at the busiest moment. */
  peakBytesInUse: number;
  /** Bytes the pool held from the system (in use plus idle buffers): what the process's memory grew by. */
  peakBytesAllocated: number;
}

/** The larger of each figure (processes of one run: the largest one's). */
export function maxPoolPeak(a: PoolPeak, b: PoolPeak): PoolPeak {
  return {
    peakBytesInUse: Math.max(a.peakBytesInUse, b.peakBytesInUse),
    peakBytesAllocated: Math.max(a.peakBytesAllocated, b.peakBytesAllocated),
  };
}

export const NO_POOL_PEAK: PoolPeak = Object.freeze({ peakBytesInUse: 0, peakBytesAllocated: 0 });
