/**
 * A cell space: per searchable layer of a layout, the candidate cells. The JSON form (SpaceFile) is
 * what AutoSpace writes and every search over cells reads (space-file.ts); the hand-designed
 * ProxylessNAS space is expressed in it too, so both methods take either through one code path.
 */
import type { Cell, LayerShape } from './cell.js';
import type { MobileNetLayout } from './layout.js';

export const SPACE_FORMAT = 'wgnas-space';
export const SPACE_VERSION = 1;

export interface SpaceCellEntry {
  cell: string;
  madds: number;
  params: number;
  /** AutoSpace fitness (softmax weight share learned by back-propagation); absent for hand-designed spaces. */
  fitness?: number;
}

export interface SpaceLayer {
  shape: LayerShape;
  cells: SpaceCellEntry[];
}

/** Every BN's settings, as a net.config's `bn` gives them (PyTorch's momentum: the new batch's weight). */
export interface BnSettings {
  eps: number;
  momentum: number;
}

export interface SpaceFile {
  format: typeof SPACE_FORMAT;
  version: number;
  /** 'autospace' (learned) or 'hand-designed'. */
  source: string;
  /** The layout whose skeleton (stem, first block, feature mix, head) the cells plug into: a name ('cifar') or inline. */
  layout: string | MobileNetLayout;
  budgetMadds?: number;
  createdAt?: string;
  /**
   * The BN its cells were evolved with (AutoSpace writes it): searches over the space build and
   * write their networks at it (spaceBn; proxyless --bn-eps overrides its eps, saying so).
   */
  bn?: BnSettings;
  /** Free-form provenance: seed, iterations, data. */
  meta?: Record<string, unknown>;
  layers: SpaceLayer[];
}

/** A space ready to build networks from: parsed cells per layer. */
export interface CellSpace {
  file: SpaceFile;
  layout: MobileNetLayout;
  shapes: LayerShape[];
  cells: Cell[][];
}
