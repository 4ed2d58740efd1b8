/**
 * A layer that mixes several cells (AutoSpace): y = [x +] Σ_k softmax(φ)_k · cell_k(x), the fitness
 * kernels of shaders/fitness.wgsl behind Tape.mixture. A zero cell contributes a zero map, so its
 * share of the softmax still competes.
 */
import { outSize } from '../latency/keys.js';
import type { Param, ReluPlace, Tape, Var } from '../nn/tape.js';
import { type LayerShape, hasShortcut } from './cell.js';
import type { CellModule } from './cell-module.js';

/** Mixture of `cells` (modules built for `shape`) weighted by softmax(phi); `at` tags their ReLUs. */
export function mixtureForward(t: Tape, x: Var, cells: readonly CellModule[], phi: Param, shape: LayerShape, at: ReluPlace): Var {
  const outs = cells.map((m) => {
    const o = m.forward(t, x, at, m.prefix);
    if (o) return o;
    const ho = outSize(shape.inH, shape.stride);
    return t.input(t.adopt(t.backend.zeros([x.shape[0], shape.outC, ho, ho])), false);
  });
  const y = t.mixture(outs, phi);
  return hasShortcut(shape) ? t.add(x, y) : y;
}
