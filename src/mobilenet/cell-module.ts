/**
 * A cell on the autograd tape: one conv (no bias) + BN (+ ReLU6) per node, so mbconvCell(k, e) is
 * exactly the MBConv block (1×1 expand + BN + ReLU6, k×k depthwise + BN + ReLU6, 1×1 project + BN).
 * Parameters are named `${prefix}.n${node}.${op}` (plus `.bn.gamma` / `.bn.beta`).
 */
import { ShapeError } from '../backend/index.js';
import { DEFAULT_BN_EPS } from '../kernels/params.js';
import type { ParamStore } from '../nn/init.js';
import type { Param, ReluPlace, Tape, Var } from '../nn/tape.js';
import {
  type Cell,
  type LayerShape,
  type NodeInfo,
  hasShortcut,
  isZeroCell,
  nodeWeightShape,
  primitiveSpec,
  validateCell,
} from './cell.js';

interface NodeParams {
  w: Param;
  gamma: Param;
  beta: Param;
}

export class CellModule {
  readonly params: Param[] = [];
  /** What each node computes (channels, resolution, stride). */
  readonly infos: readonly NodeInfo[];
  private readonly nodeParams: NodeParams[];

  /**
   * Validates the cell for the shape (CellError otherwise) and allocates its parameters. `bnEps`:
   * every BN of the cell's (the network's; a ProxylessNAS net.config gives its own).
   */
  constructor(
    store: ParamStore,
    readonly prefix: string,
    readonly cell: Cell,
    readonly shape: LayerShape,
    readonly bnEps = DEFAULT_BN_EPS,
  ) {
    this.infos = validateCell(cell, shape);
    this.nodeParams = cell.nodes.map((n, i) => {
      const name = `${prefix}.n${i}.${n.op}`;
      const ws = nodeWeightShape(n.op, this.infos[i]);
      const p: NodeParams = {
        w: store.weight(name, ws),
        gamma: store.constant(`${name}.bn.gamma`, 'bn_gamma', ws[0], 1),
        beta: store.constant(`${name}.bn.beta`, 'bn_beta', ws[0], 0),
      };
      this.params.push(p.w, p.gamma, p.beta);
      return p;
    });
  }

  /**
   * Weight inheritance for a mutated child: every node of this cell that computes the same op on
   * tensors of the same shapes as a node of `parent` starts from that node's weights (conv and BN),
   * the same node index first. A mutation changes one node or edge, so most of a child starts
   * trained instead of competing from scratch against trained cells. Returns the nodes inherited.
   */
  inheritFrom(parent: CellModule, copy: (src: Param, dst: Param) => void): number {
    const used = new Set<number>();
    const same = (i: number, j: number) =>
      this.cell.nodes[i].op === parent.cell.nodes[j].op &&
      this.nodeParams[i].w.value.shape.join() === parent.nodeParams[j].w.value.shape.join();
    let n = 0;
    this.cell.nodes.forEach((_, i) => {
      let j = i < parent.cell.nodes.length && same(i, i) && !used.has(i) ? i : -1;
      if (j < 0) j = parent.cell.nodes.findIndex((_, k) => !used.has(k) && same(i, k));
      if (j < 0) return;
      used.add(j);
      const [a, b] = [this.nodeParams[i], parent.nodeParams[j]];
      copy(b.w, a.w);
      copy(b.gamma, a.gamma);
      copy(b.beta, a.beta);
      n++;
    });
    return n;
  }

  /** The cell output WITHOUT the layer shortcut; null for the zero cell. `at` tags its ReLUs (WRCor's weights). */
  forward(t: Tape, x: Var, at: ReluPlace, name = 'cell'): Var | null {
    const { inC, inH } = this.shape;
    if (x.shape.length !== 4 || x.shape[1] !== inC || x.shape[2] !== inH || x.shape[3] !== inH) {
      throw new ShapeError(`${name}: expected input [N, ${inC}, ${inH}, ${inH}], got [${x.shape.join(', ')}]`);
    }
    if (isZeroCell(this.cell)) return null;
    const vals: Var[] = [x];
    this.cell.nodes.forEach((node, i) => {
      const spec = primitiveSpec(node.op);
      const info = this.infos[i];
      const p = this.nodeParams[i];
      const [a, b] = node.inputs;
      const h = b === undefined ? vals[a] : t.add(vals[a], vals[b]);
      const conv = t.conv(h, p.w, {
        stride: info.stride,
        pad: (spec.kernel - 1) / 2,
        groups: spec.kind === 'dw' ? info.inChannels : 1,
      });
      const nodeName = `${name}.n${i}.${node.op}`;
      vals.push(
        spec.act
          ? t.batchNormRelu6(conv, p.gamma, p.beta, at, `${nodeName}.bn`, `${nodeName}.relu6`, this.bnEps)
          : t.batchNorm(conv, p.gamma, p.beta, `${nodeName}.bn`, undefined, this.bnEps),
      );
    });
    let out = vals[this.cell.outputs[0]];
    for (const o of this.cell.outputs.slice(1)) out = t.add(out, vals[o]);
    return out;
  }
}

/** The whole layer: cell(x), plus x where the shape has an identity shortcut; the zero cell gives x. */
export function layerForward(t: Tape, x: Var, m: CellModule, at: ReluPlace, name = 'cell'): Var {
  const y = m.forward(t, x, at, name);
  if (y === null) return x;
  return hasShortcut(m.shape) ? t.add(x, y) : y;
}
