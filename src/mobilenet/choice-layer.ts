/**
 * A layer that chooses one of its candidate cells per forward (ProxylessNAS binarized paths). The
 * layer's output is o_a(x) (+ x where the shape has a shortcut) for the active candidate a, which
 * is exactly Σ_j g_j·o_j(x) at binary gates g; a zero cell as the active candidate passes x through.
 * Inactive candidates can be run without gradient (their outputs kept for the gate gradients), so
 * memory stays that of one or two paths.
 */
import type { Backend, Tensor } from '../backend/index.js';
import type { GateSample } from '../kernels/binarize.js';
import type { ParamStore } from '../nn/init.js';
import { type ReluPlace, Tape, type Var } from '../nn/tape.js';
import { type Cell, type LayerShape, hasShortcut, isZeroCell } from './cell.js';
import { CellModule } from './cell-module.js';

/** What a layer did in one forward, for the gate gradients. */
export interface BlockRecord {
  position: number;
  gates: GateSample;
  /** The layer input (alive until the tape is disposed). */
  input: Var;
  /** The active candidate's output o_a (null when a zero cell is active). Its grad is dL/dy. */
  activeOut: Var | null;
  /** Outputs of the inactive sampled candidates (2-path mode), owned by the tape; null for a zero cell. */
  inactiveOuts: Map<number, Tensor | null>;
}

export class ChoiceLayer {
  /** candidates[j]: candidate j's module (null for a zero cell and for candidates not built). */
  readonly candidates: Array<CellModule | null>;

  /**
   * Allocates every candidate (or only candidate `only`, for the stand-alone network of one path)
   * in `store`, named `${prefix}.c${j}`.
   */
  constructor(
    store: ParamStore,
    readonly position: number,
    readonly cells: readonly Cell[],
    readonly shape: LayerShape,
    readonly only?: number,
    /** Every candidate's BN eps (CellModule's default when omitted). */
    readonly bnEps?: number,
  ) {
    if (cells.length === 0) throw new RangeError(`layer ${position}: no candidate cells`);
    this.candidates = cells.map((c, j) => {
      if (isZeroCell(c) || (only !== undefined && only !== j)) return null;
      return new CellModule(store, `b${position}.c${j}`, c, shape, bnEps);
    });
  }

  get size(): number {
    return this.cells.length;
  }

  /** True when candidate j outputs nothing (the layer is its shortcut). */
  isZero(j: number): boolean {
    return isZeroCell(this.cells[j]);
  }

  private module(j: number): CellModule {
    const m = this.candidates[j];
    if (!m)
      throw new Error(
        `supernet: candidate ${j} of block ${this.position} was not built (network built with only candidate ${this.only} there)`,
      );
    return m;
  }

  /** Output of candidate j without the shortcut. */
  candidateOutput(t: Tape, x: Var, j: number, at: ReluPlace, name: string): Var {
    return this.module(j).forward(t, x, at, name)!;
  }

  /** o_j(x) with no gradient; intermediate activations are freed before returning. */
  detachedOutput(backend: Backend, x: Tensor, j: number): Tensor {
    const sub = new Tape(backend, { noGrad: true });
    try {
      // The sub-tape's own output, handed over (no copy; everything else it made is freed).
      return sub.take(this.candidateOutput(sub, sub.input(x), j, { block: 0, module: 0 }, 'detached'));
    } finally {
      sub.dispose();
    }
  }

  /**
   * The layer with gate sample `g`. With `inactive`, the inactive sampled candidates run too, on a
   * no-grad sub-tape, and only their outputs are kept (the architecture step of 2-path mode).
   */
  forward(t: Tape, x: Var, g: GateSample, at: ReluPlace, inactive = false): { out: Var; record: BlockRecord } {
    const b = this.position;
    if (!(g.active >= 0 && g.active < this.size))
      throw new RangeError(`supernet: block ${b}: active index ${g.active} out of range`);
    const record: BlockRecord = { position: b, gates: g, input: x, activeOut: null, inactiveOuts: new Map() };
    if (this.isZero(g.active)) return { out: x, record }; // zero cell with identity shortcut: the layer passes x through
    let o = this.candidateOutput(t, x, g.active, at, `b${b}`);
    // Nothing below this block wants a gradient (an architecture step: no weight gradients, an
    // input without one): o becomes a leaf that wants one, so dL/dy still reaches the gate
    // gradients while the backward stops here, as autograd does for PyTorch's gates; the block's
    // own and the stem's backward passes would only feed an input gradient nobody reads.
    if (!o.requiresGrad && !t.opts.noGrad) o = t.input(o.value, true);
    record.activeOut = o;
    if (inactive) {
      for (const j of g.inactive)
        record.inactiveOuts.set(j, this.isZero(j) ? null : t.adopt(this.detachedOutput(t.backend, x.value, j)));
    }
    return { out: hasShortcut(this.shape) ? t.add(x, o) : o, record };
  }
}
