/**
 * The ProxylessNAS supernet: the MobileNet skeleton with a binarized choice (ChoiceLayer) in every
 * searchable layer, over the layout's MBConv k×e candidates and 'zero' (all cells), or over the
 * cells of a space file.
 *
 * Binarized paths without a custom tape op: a block's output is o_a(x) (+ x when the shape allows
 * a skip) for the active candidate a, which is exactly Σ_j g_j·o_j(x) at binary g. The tape then
 * holds dL/dy as o_a's gradient after backward, and the gate gradients dL/dg_j = Σ(o_j ⊙ dL/dy)
 * are dot products taken afterwards (binarize.wgsl):
 *  - j = a: o_a is still on the tape;
 *  - 2-path mode: the inactive candidate's output was computed in the forward on a no-grad sub-tape
 *    (its activations freed at once) and only that output kept;
 *  - 'all' mode (ProxylessNAS full_v2): every other candidate is re-run on a no-grad sub-tape from
 *    the saved block input after backward, one at a time, so memory stays one path.
 * Parameters of candidates that did not run get no gradient, so the optimizer leaves them alone.
 */
import type { Backend, Tensor } from '../backend/index.js';
import type { GateSample } from '../kernels/binarize.js';
import type { BlockPosition } from '../latency/space.js';
import { type Cell, handDesignedCells } from '../mobilenet/cell.js';
import { formatCell } from '../mobilenet/cell-text.js';
import { type BlockRecord, ChoiceLayer } from '../mobilenet/choice-layer.js';
import { type MobileNetLayout, candidateName, layerShapes } from '../mobilenet/layout.js';
import { Skeleton } from '../mobilenet/skeleton.js';
import { type InitMode, ParamStore } from '../nn/init.js';
import type { Param, Tape, Var } from '../nn/tape.js';
import type { Rng } from '../util/rng.js';
import { BN_EPS } from './net-config.js';

export type { BlockRecord };

export interface SupernetOptions {
  /** Build only these candidates (one index per searchable position): the stand-alone network of one path. */
  only?: readonly number[];
  init?: InitMode;
  /**
   * Candidate cells per searchable position (a learned or hand-written space file) in place of the
   * layout's MBConv k×e candidates; a zero cell plays 'zero'.
   */
  cells?: readonly (readonly Cell[])[];
  /** Every BN's eps (BN_EPS, 1e-5, when omitted; the search passes its config's, the authors' 1e-3). */
  bnEps?: number;
}

export class ProxylessSupernet {
  readonly positions: BlockPosition[];
  readonly store: ParamStore;
  readonly stages: number[];
  readonly skeleton: Skeleton<ChoiceLayer>;

  constructor(
    readonly backend: Backend,
    readonly layout: MobileNetLayout,
    rng: Rng,
    readonly opts: SupernetOptions = {},
  ) {
    const n = layerShapes(layout).length;
    if (opts.only && opts.only.length !== n)
      throw new RangeError(`supernet: ${opts.only.length} fixed choices for ${n} positions`);
    if (opts.cells && opts.cells.length !== n)
      throw new RangeError(`supernet: ${opts.cells.length} cell lists for ${n} positions`);
    const store = (this.store = new ParamStore(backend, rng, opts.init ?? 'pytorch'));
    const bnEps = opts.bnEps ?? BN_EPS;
    this.skeleton = new Skeleton(
      store,
      layout,
      (shapes) => {
        const own = { kernels: layout.kernels, expands: layout.expands };
        return shapes.map(
          (shape, b) => new ChoiceLayer(store, b, opts.cells?.[b] ?? handDesignedCells(shape, own), shape, opts.only?.[b], bnEps),
        );
      },
      bnEps,
    );
    this.positions = this.skeleton.positions;
    this.stages = this.skeleton.stages;
  }

  get layers(): readonly ChoiceLayer[] {
    return this.skeleton.layers;
  }

  get params(): readonly Param[] {
    return this.store.params;
  }

  /** Candidate count per searchable position. */
  get choiceSizes(): number[] {
    return this.layers.map((l) => l.size);
  }

  /** True when candidate j of position b outputs nothing (the block is its shortcut). */
  isZero(b: number, j: number): boolean {
    return this.layers[b].isZero(j);
  }

  /** 'zero', '5x5_MBConv6' for the layout's candidates, the cell text for a space file's. */
  candidateName(b: number, j: number): string {
    return this.opts.cells?.[b] ? formatCell(this.opts.cells[b][j]) : candidateName(this.positions[b].candidates[j]);
  }

  zeroGrad(): void {
    this.store.zeroGrad();
  }

  /**
   * Forward with one gate sample per position. Inactive candidates' outputs are computed only when
   * `inactive` is true (the architecture step of 2-path mode); weight steps need the active path only.
   */
  forward(
    t: Tape,
    x: Var,
    gates: readonly GateSample[],
    { inactive = false } = {},
  ): { logits: Var; features: Var; records: BlockRecord[] } {
    if (gates.length !== this.positions.length)
      throw new RangeError(`supernet: ${gates.length} gate samples for ${this.positions.length} blocks`);
    const records: BlockRecord[] = [];
    const { logits, features } = this.skeleton.forward(t, x, (layer, b, h, at) => {
      const { out, record } = layer.forward(t, h, gates[b], at, inactive);
      records.push(record);
      return out;
    });
    return { logits, features, records };
  }

  /**
   * Gate gradients after tape.backward(): per record, dL/dg_j for the sampled candidates (or every
   * candidate with mode 'all'); entries not evaluated, and 'zero' candidates, are 0. Blocks whose
   * active candidate is 'zero' get null (ProxylessNAS skips their α update: the block is bypassed).
   */
  async gateGradients(records: readonly BlockRecord[], mode: 'sampled' | 'all' = 'sampled'): Promise<Array<number[] | null>> {
    return (await this.gateGradientsWith(records, mode, [])).grads;
  }

  /**
   * gateGradients, and the values of `alongside` (a step's loss) read with them in one wait. The
   * dot products whose outputs exist (the active candidates', 2-path mode's saved ones) run as one
   * gateDotMany; mode 'all' re-runs each other candidate and takes its dot at once, so memory stays
   * one path.
   */
  async gateGradientsWith(
    records: readonly BlockRecord[],
    mode: 'sampled' | 'all',
    alongside: readonly Tensor[],
  ): Promise<{ grads: Array<number[] | null>; values: Float32Array[] }> {
    const backend = this.backend;
    const slots: Array<{ rec: number; j: number }> = [];
    records.forEach((r, i) => {
      if (!r.activeOut) return;
      slots.push({ rec: i, j: r.gates.active });
      const others =
        mode === 'all'
          ? [...Array(this.choiceSizes[r.position]).keys()].filter((j) => j !== r.gates.active)
          : [...r.inactiveOuts.keys()];
      for (const j of others) if (!this.isZero(r.position, j)) slots.push({ rec: i, j });
    });
    const out = backend.zeros([Math.max(1, slots.length)]);
    try {
      const pairs: Array<{ a: Tensor; b: Tensor; k: number }> = [];
      slots.forEach((s, k) => {
        const r = records[s.rec];
        const dy = r.activeOut!.grad;
        if (!dy) return; // no gradient reached this block
        const saved = s.j === r.gates.active ? r.activeOut!.value : r.inactiveOuts.get(s.j);
        if (saved) {
          pairs.push({ a: saved, b: dy, k });
          return;
        }
        const o = this.layers[r.position].detachedOutput(backend, r.input.value, s.j);
        backend.ops.gateDot(o, dy, out, k);
        o.dispose();
      });
      backend.ops.gateDotMany(
        pairs.map((p) => p.a),
        pairs.map((p) => p.b),
        out,
        pairs.map((p) => p.k),
      );
      const [vals, ...values] = await backend.readMany([out, ...alongside]);
      const grads: Array<number[] | null> = records.map((r) =>
        r.activeOut ? new Array(this.choiceSizes[r.position]).fill(0) : null,
      );
      slots.forEach((s, k) => (grads[s.rec]![s.j] = vals[k]));
      return { grads, values };
    } finally {
      out.dispose();
    }
  }

  /** Parameters by name (for checkpoints and the CPU reference). */
  paramMap(): Map<string, Param> {
    return new Map(this.store.params.map((p) => [p.name, p]));
  }

  dispose(): void {
    this.store.dispose();
  }
}

export { BN_EPS };
