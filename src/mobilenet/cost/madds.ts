/** A multiply-adds cost model: for spaces whose cells no latency table prices, or searches under a MAdds budget. */
import { cellMadds } from '../cell.js';
import { fixedMadds } from '../madds.js';
import type { CellSpace } from '../space.js';
import type { CostModel } from './model.js';

/** Multiply-adds per image of the skeleton and of every candidate cell (unit 'madds', not millions). */
export function maddsCost(space: Pick<CellSpace, 'layout' | 'shapes' | 'cells'>): CostModel {
  return {
    unit: 'madds',
    source: 'madds',
    fixed: fixedMadds(space.layout),
    perPosition: space.cells.map((cells, b) => cells.map((c) => cellMadds(c, space.shapes[b]))),
  };
}
