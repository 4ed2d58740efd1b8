/**
 * A stand-alone MobileNet: one fixed cell per searchable layer in the skeleton (the network a search
 * derives, or any architecture of a cell space). It has the shape the zero-shot proxies score
 * (params, forward to logits and features, zeroGrad, dispose).
 */
import type { Backend } from '../backend/index.js';
import { DEFAULT_BN_EPS } from '../kernels/params.js';
import { type InitMode, ParamStore } from '../nn/init.js';
import type { Param, Tape, Var } from '../nn/tape.js';
import type { Rng } from '../util/rng.js';
import type { Cell } from './cell.js';
import { CellModule, layerForward } from './cell-module.js';
import { type MobileNetLayout, layerShapes } from './layout.js';
import { Skeleton } from './skeleton.js';

export class FixedNet {
  readonly store: ParamStore;
  readonly skeleton: Skeleton<CellModule>;

  /**
   * `cells[b]` fills layer b; its parameters are named `b${b}.c${choices[b]}.*`, as the supernet
   * names that candidate, so weights carry over by name between the two. `bnEps`: every BN's eps
   * (a ProxylessNAS net.config's bn.eps; wgnas's own networks 1e-5).
   */
  constructor(
    backend: Backend,
    layout: MobileNetLayout,
    cells: readonly Cell[],
    choices: readonly number[],
    rng: Rng,
    init: InitMode = 'pytorch',
    readonly bnEps = DEFAULT_BN_EPS,
  ) {
    if (cells.length !== choices.length) throw new RangeError(`FixedNet: ${cells.length} cells for ${choices.length} choices`);
    const n = layerShapes(layout).length;
    if (cells.length !== n) throw new RangeError(`FixedNet: ${cells.length} cells for the ${n} layers of layout ${layout.name}`);
    // Weights drawn in batches once every module exists (up to 8 per dispatch).
    const store = (this.store = new ParamStore(backend, rng, init, { batchWeights: true }));
    this.skeleton = new Skeleton(
      store,
      layout,
      (shapes) => shapes.map((shape, b) => new CellModule(store, `b${b}.c${choices[b]}`, cells[b], shape, bnEps)),
      bnEps,
    );
    store.drawPending();
  }

  /** Architecture `choices` of a space given as candidate cells per layer (`bnEps` as the constructor's). */
  static fromChoices(
    backend: Backend,
    layout: MobileNetLayout,
    cells: readonly (readonly Cell[])[],
    choices: readonly number[],
    rng: Rng,
    init: InitMode = 'pytorch',
    bnEps = DEFAULT_BN_EPS,
  ): FixedNet {
    if (choices.length !== cells.length) throw new RangeError(`FixedNet: ${choices.length} choices for ${cells.length} layers`);
    const picked = choices.map((j, b) => {
      const c = cells[b][j];
      if (!c) throw new RangeError(`FixedNet: choice ${j} out of range at layer ${b} (${cells[b].length} cells)`);
      return c;
    });
    return new FixedNet(backend, layout, picked, choices, rng, init, bnEps);
  }

  get params(): readonly Param[] {
    return this.store.params;
  }

  paramCount(): number {
    return this.store.count();
  }

  forward(t: Tape, x: Var): { logits: Var; features: Var } {
    return this.skeleton.forward(t, x, (m, b, h, at) => layerForward(t, h, m, at, `b${b}`));
  }

  zeroGrad(): void {
    this.store.zeroGrad();
  }

  dispose(): void {
    this.store.dispose();
  }
}
