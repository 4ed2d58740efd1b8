/** Multiply-adds of MobileNet networks: the skeleton's fixed part plus one cell per layer. */
import { outSize } from '../latency/keys.js';
import { cellMadds } from './cell.js';
import { type MobileNetLayout, layoutSpace } from './layout.js';
import type { CellSpace } from './space.js';

/** Multiply-adds of everything but the searchable layers: stem, first block (dw3 + 1×1), feature mix, classifier. */
export function fixedMadds(layout: MobileNetLayout): number {
  const space = layoutSpace(layout);
  const h0 = outSize(layout.inputSize, layout.stemStride);
  const stem = h0 * h0 * 3 * layout.stemC * 9;
  const first = h0 * h0 * layout.stemC * 9 + h0 * h0 * layout.stemC * layout.firstBlockC;
  const last = space.positions[space.positions.length - 1];
  const hl = outSize(last.inH, last.stride);
  const mix = hl * hl * last.outC * layout.featureMixC;
  return stem + first + mix + layout.featureMixC * layout.classes;
}

/** MAdds of the architecture's searchable layers (choices index each layer's cells). */
export function choicesMadds(space: Pick<CellSpace, 'shapes' | 'cells'>, choices: readonly number[]): number {
  return choices.reduce((s, j, b) => s + cellMadds(space.cells[b][j], space.shapes[b]), 0);
}

/** Whole-network multiply-adds of one architecture of the space. */
export function archMadds(space: Pick<CellSpace, 'layout' | 'shapes' | 'cells'>, choices: readonly number[]): number {
  return fixedMadds(space.layout) + choicesMadds(space, choices);
}
