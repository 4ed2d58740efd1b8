/**
 * What a group of NAS-Bench-201 cells runs as one channel-stacked network (nb201-stacked.ts), worked
 * out without a device: which ops each edge runs for whom, the convolutions' multiply-accumulates
 * against the separate networks', and the bytes the scoring tape holds (for --group auto).
 */
import {
  convKernel,
  isZeroOp,
  NB201_OP_SPECS,
  NB201_OPS,
  type Nb201Cell,
  type Nb201Op,
  unhandledOpKind,
} from '../spaces/nb201.js';
import { EDGE_FROM, EDGE_TO, type Nb201NetConfig } from './nb201-net.js';

export const isConv = (op: Nb201Op) => convKernel(op) !== null;
/**
 * The order a stacked edge runs its ops in (any fixed order: a network uses one op per edge): every
 * op of NB201_OPS but the zero ones, convolutions first by falling kernel (the one a 1x1 merges into
 * comes before it), then the rest in NB201_OPS order.
 */
export const EDGE_OPS: readonly Nb201Op[] = [
  ...NB201_OPS.filter(isConv).sort((a, b) => convKernel(b)! - convKernel(a)!),
  ...NB201_OPS.filter((op) => !isConv(op) && !isZeroOp(op)),
];

/** One network's cell as its own network (Nb201Net) runs it. */
export interface CellPlan {
  /** The op each edge runs: 'none' also where its own network skips the edge (out of an unfed node). */
  ops: Nb201Op[];
  /** Whether edge e's ReLU (a conv edge that runs) gets a gradient on its own tape. */
  grad: boolean[];
  /**
   * Whether the cell's output depends on its input with a gradient: else no ReLU of the network
   * gets one (the cell's output is zeros, or only constants reach it).
   */
  alive: boolean;
}

/**
 * Replays Nb201Net's cell rules for one cell: which edges run, and which ReLUs the tape's backward
 * reaches (a ReLU gets a gradient when its input requires one, i.e. descends from the cell's
 * input, and its edge's output reaches node 3). Assumes a cell input that requires a gradient.
 */
export function planCell(cell: Nb201Cell, unfedEdges: 'skip' | 'zeros' = 'skip'): CellPlan {
  const fed = [true, false, false, false];
  const rg = [true, false, false, false];
  const ops: Nb201Op[] = cell.edges.map(() => 'none');
  for (let e = 0; e < 6; e++) {
    const op = cell.edges[e];
    const from = EDGE_FROM[e];
    if (isZeroOp(op) || !(fed[from] || (isConv(op) && unfedEdges === 'zeros'))) continue;
    ops[e] = op;
    fed[EDGE_TO[e]] = true;
    rg[EDGE_TO[e]] ||= rg[from];
  }
  // Edges are in order of their target node, so a later edge never feeds an earlier one's source.
  const reach = [false, false, false, true];
  for (let e = 5; e >= 0; e--) if (!isZeroOp(ops[e]) && reach[EDGE_TO[e]]) reach[EDGE_FROM[e]] = true;
  const alive = rg[3];
  const grad = ops.map((op, e) => alive && isConv(op) && rg[EDGE_FROM[e]] && reach[EDGE_TO[e]]);
  return { ops, grad, alive };
}

/** One op a stacked edge runs, for the networks that use it. */
export interface StackedEdgeOp {
  op: Nb201Op;
  /** Per network: whether its ReLU record gets a gradient (conv ops; false otherwise), or null where it does not use the op. */
  users: Array<boolean | null>;
  /** Networks that use it (a skip or pool used by fewer than all is masked). */
  used: number;
}

/**
 * The ops each edge of a stacked cell runs, in EDGE_OPS order. Where some networks put a 1x1 conv
 * on an edge and others a larger one (3x3), the largest serves both (a 1x1 kernel is a k x k one
 * with zeros around its centre): one ReLU-conv-BN less, and fewer FLOPs than running both.
 */
export function stackedEdgeOps(plans: readonly CellPlan[]): StackedEdgeOp[][] {
  return EDGE_TO.map((_, e) => {
    // The largest conv some network runs here (EDGE_OPS has convs by falling kernel).
    const host = EDGE_OPS.find((op) => isConv(op) && plans.some((p) => p.ops[e] === op));
    const runs = (op: Nb201Op) => (convKernel(op) === 1 && host && convKernel(host)! > 1 ? host : op);
    return EDGE_OPS.flatMap((op): StackedEdgeOp[] => {
      if (runs(op) !== op) return [];
      const uses = (p: CellPlan) => runs(p.ops[e]) === op;
      const users = plans.map((p) => (uses(p) ? (isConv(op) ? p.grad[e] : false) : null));
      const used = users.filter((u) => u !== null).length;
      return used ? [{ op, users, used }] : [];
    });
  });
}

interface Stage {
  c: number;
  hw: number;
}

function stages(cfg: Nb201NetConfig, inputHW: number): Stage[] {
  const out: Stage[] = [];
  let hw = inputHW;
  for (let s = 0; s < 3; s++) {
    if (s > 0) hw = Math.floor((hw - 1) / 2) + 1;
    out.push({ c: cfg.channels * 2 ** s, hw });
  }
  return out;
}

/** Multiply-accumulates of the convolutions (and classifier) outside the cells, per network. */
function skeletonMacs(cfg: Nb201NetConfig, inputHW: number): number {
  const st = stages(cfg, inputHW);
  let macs = 3 * cfg.channels * 9 * inputHW * inputHW;
  for (let s = 1; s < 3; s++) {
    const { c, hw } = st[s];
    const cin = st[s - 1].c;
    macs += (cin * c * 9 + c * c * 9 + cin * c) * hw * hw;
  }
  return macs + st[2].c * cfg.numClasses;
}

const convMacs = (op: Nb201Op, { c, hw }: Stage) => c * c * convKernel(op)! ** 2 * hw * hw;

/**
 * Convolution multiply-accumulates of one forward: `separate`, the sum of each network's own (the
 * ops its own network runs, planCell); `stacked`, the stacked network's (every network runs every
 * conv its group puts on an edge). k = stacked / separate.
 */
export function stackedMacs(
  cells: readonly Nb201Cell[],
  cfg: Nb201NetConfig,
  inputHW = 32,
): { separate: number; stacked: number; k: number } {
  const plans = cells.map((c) => planCell(c, cfg.unfedEdges ?? 'skip'));
  const G = cells.length;
  const st = stages(cfg, inputHW);
  const skel = skeletonMacs(cfg, inputHW);
  let separate = G * skel;
  let stacked = G * skel;
  for (const stage of st) {
    for (const p of plans) for (const op of p.ops) if (isConv(op)) separate += cfg.cellsPerStage * convMacs(op, stage);
    for (const ops of stackedEdgeOps(plans))
      for (const o of ops) if (isConv(o.op)) stacked += cfg.cellsPerStage * G * convMacs(o.op, stage);
  }
  return { separate, stacked, k: stacked / separate };
}

/**
 * Activation-sized tensors (in units of one stage activation, [N, G*c, hw, hw]) the scoring tape of
 * a stacked network holds per stage at its peak (the tape keeps every forward tensor until the
 * proxies have read the ReLU records). Forward, exactly as StackedNb201Net allocates: a conv op
 * its ReLU-conv output and batch norm output; a pool its output; a masked skip or pool its masked
 * sum; an unmasked one after a node's first op its sum. Backward, an upper bound: a conv op's
 * batch-norm input gradient and its ReLU record's gradient, a masked op's and a pool's input
 * gradient, and one sum per further read of a node (a shared gradient summed into a new tensor).
 */
export function stackedActivationUnits(
  plans: readonly CellPlan[],
  cfg: Nb201NetConfig,
  backward: boolean,
  edges: StackedEdgeOp[][] = stackedEdgeOps(plans),
): { perStage: number[]; stem: number } {
  const G = plans.length;
  let cell = 0;
  const nodes = [true, false, false, false];
  const uses = [0, 0, 0, 0];
  let zeros = false;
  for (let j = 1; j <= 3; j++) {
    let acc = false;
    for (let e = 0; e < 6; e++) {
      if (EDGE_TO[e] !== j || !edges[e].length) continue;
      if (!nodes[EDGE_FROM[e]]) zeros = true;
      for (const o of edges[e]) {
        uses[EDGE_FROM[e]]++;
        const spec = NB201_OP_SPECS[o.op];
        switch (spec.kind) {
          case 'conv':
            cell += backward ? 4 : 2;
            break;
          case 'identity':
          case 'avgPool': {
            // A pool's output; a masked op's sum (maskedAdd, with or without a sum so far), an
            // unmasked one's add after the node's first op; backward, the pool's and maskedAdd's
            // input gradients.
            const masked = o.used < G;
            const pool = spec.kind === 'avgPool';
            cell += (Number(masked) + Number(pool)) * (backward ? 2 : 1) + Number(acc && !masked);
            break;
          }
          case 'zero':
            break; // never planned (EDGE_OPS has none)
          default:
            unhandledOpKind(spec);
        }
        acc = true;
      }
    }
    nodes[j] = acc;
  }
  if (zeros || !nodes[3]) cell++;
  // A node read by several ops gets its gradient summed: at most one new tensor per further read.
  if (backward) cell += uses.reduce((s, u) => s + Math.max(0, u - 1), 0);
  // Reduction block at its output size: forward 2 x (conv, BN), the 2x2 pool (half), the 1x1 conv
  // and the sum; backward 2 x (BN, record) with convA's record at the input size (2 units), the 1x1
  // conv's input gradient (half), the pool's (2) and the sum into the input (2).
  const reduce = backward ? 6.5 + 8.5 : 6.5;
  // The stem's conv and BN; the last BN and ReLU (at stage 2), each with its gradient.
  const perStage = [0, 1, 2].map((s) => cfg.cellsPerStage * cell + (s > 0 ? reduce : 0) + (s === 2 ? (backward ? 4 : 2) : 0));
  return { perStage, stem: backward ? 3 : 2 };
}

/** Bytes of the stacked network's weights and its tape's tensors (stackedActivationUnits) on a batch of n. */
export function stackedTapeBytes(
  plans: readonly CellPlan[],
  cfg: Nb201NetConfig,
  n: number,
  backward: boolean,
  inputHW = 32,
  edges: StackedEdgeOp[][] = stackedEdgeOps(plans),
): number {
  const G = plans.length;
  const st = stages(cfg, inputHW);
  const { perStage, stem } = stackedActivationUnits(plans, cfg, backward, edges);
  // Beside what the tape holds, a transient workspace: the CPU's k x k convolutions unfold their
  // input (k^2 x it; for 3x3 measured up to 9 stem activations forward and 18 with backward), a
  // cell's largest, else the first reduction's 3x3 at a quarter of the plane (9/4).
  const unfold = Math.max(9 / 4, ...edges.flatMap((ops) => ops.map((o) => (convKernel(o.op) ?? 0) ** 2)));
  const transient = unfold * (backward ? 2 : 1);
  let floats = (stem + transient) * n * G * cfg.channels * inputHW * inputHW + n * 3 * inputHW * inputHW;
  st.forEach(({ c, hw }, s) => (floats += perStage[s] * n * G * c * hw * hw));
  // Weights: the skeleton's and every conv the group's union runs, for every network.
  let weights = skeletonMacs(cfg, 1) + cfg.numClasses;
  for (const stage of st) {
    for (const ops of edges)
      for (const o of ops) if (isConv(o.op)) weights += cfg.cellsPerStage * convMacs(o.op, { c: stage.c, hw: 1 });
  }
  return 4 * (floats + G * weights);
}

/**
 * Network g's ReLU records as the correlations read them: per record its feature count D (per
 * image) and whether it has a gradient, in its own network's order (reductions, cells, the last ReLU).
 */
export function stackedRecordDims(
  plans: readonly CellPlan[],
  cfg: Nb201NetConfig,
  g: number,
  inputHW = 32,
  edges: StackedEdgeOp[][] = stackedEdgeOps(plans),
): Array<{ d: number; grad: boolean }> {
  const st = stages(cfg, inputHW);
  const out: Array<{ d: number; grad: boolean }> = [];
  const alive = plans[g].alive;
  st.forEach(({ c, hw }, s) => {
    const d = c * hw * hw;
    if (s > 0) out.push({ d: st[s - 1].c * st[s - 1].hw ** 2, grad: alive }, { d, grad: alive });
    for (let i = 0; i < cfg.cellsPerStage; i++)
      for (const ops of edges) for (const o of ops) if (isConv(o.op) && o.users[g] !== null) out.push({ d, grad: o.users[g]! });
  });
  out.push({ d: st[2].c * st[2].hw ** 2, grad: alive });
  return out;
}
