/**
 * A search space as plain JSON: per searchable layer of a layout, its shape and the candidate
 * cells (text form, see cell.ts). AutoSpace writes learned spaces in this format; the hand-designed
 * ProxylessNAS space is expressed in it too, so the ProxylessNAS search and the zero-shot search
 * take either through one code path (`--space-file`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ProxylessLayout } from '../proxyless/layout.js';
import { LAYOUTS, getLayout, searchPositions, validateLayout } from '../proxyless/layout.js';
import { type Cell, CellError, type LayerShape, cellMadds, cellParams, formatCell, handDesignedCells, parseCell, validateCell } from './cell.js';

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

export interface SpaceFile {
  format: typeof SPACE_FORMAT;
  version: number;
  /** 'autospace' (learned) or 'hand-designed'. */
  source: string;
  /** The layout whose skeleton (stem, first block, feature mix, head) the cells plug into: a name ('cifar') or inline. */
  layout: string | ProxylessLayout;
  budgetMadds?: number;
  createdAt?: string;
  /** Free-form provenance: seed, iterations, data. */
  meta?: Record<string, unknown>;
  layers: SpaceLayer[];
}

/** A space ready to build networks from: parsed cells per layer. */
export interface CellSpace {
  file: SpaceFile;
  layout: ProxylessLayout;
  shapes: LayerShape[];
  cells: Cell[][];
}

export class SpaceFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpaceFileError';
  }
}

export function layerShapes(layout: ProxylessLayout): LayerShape[] {
  return searchPositions(layout).map((p) => ({ inC: p.inC, outC: p.outC, stride: p.stride as 1 | 2, inH: p.inH }));
}

const sameShape = (a: LayerShape, b: LayerShape) => a.inC === b.inC && a.outC === b.outC && a.stride === b.stride && a.inH === b.inH;

/** Built-in layouts by name, others inline. */
export function layoutRef(layout: ProxylessLayout): string | ProxylessLayout {
  return LAYOUTS[layout.name] === layout ? layout.name : { ...layout };
}

export function spaceEntry(cell: Cell, shape: LayerShape, fitness?: number): SpaceCellEntry {
  const e: SpaceCellEntry = { cell: formatCell(cell), madds: cellMadds(cell, shape), params: cellParams(cell, shape) };
  if (fitness !== undefined) e.fitness = fitness;
  return e;
}

/** The ProxylessNAS candidates (MBConv k{3,5,7}×e{3,6}, plus zero where a shortcut exists) as a space. */
export function handDesignedSpace(layout: ProxylessLayout): SpaceFile {
  return {
    format: SPACE_FORMAT,
    version: SPACE_VERSION,
    source: 'hand-designed',
    layout: layoutRef(layout),
    layers: layerShapes(layout).map((shape) => ({ shape, cells: handDesignedCells(shape).map((c) => spaceEntry(c, shape)) })),
  };
}

/** Validates a parsed JSON value against a layout; errors name the layer and cell. */
export function loadSpace(json: unknown, where = 'space'): CellSpace {
  const f = json as SpaceFile;
  if (!f || typeof f !== 'object' || f.format !== SPACE_FORMAT) throw new SpaceFileError(`${where}: not a ${SPACE_FORMAT} file (format field is ${JSON.stringify((f as { format?: unknown })?.format)})`);
  if (f.version !== SPACE_VERSION) throw new SpaceFileError(`${where}: version ${f.version} is not supported (expected ${SPACE_VERSION})`);
  let layout: ProxylessLayout;
  try {
    layout = typeof f.layout === 'string' ? getLayout(f.layout) : f.layout;
    validateLayout(layout);
  } catch (e) {
    throw new SpaceFileError(`${where}: ${(e as Error).message}`);
  }
  const shapes = layerShapes(layout);
  if (!Array.isArray(f.layers) || f.layers.length !== shapes.length) {
    throw new SpaceFileError(`${where}: layout ${layout.name} has ${shapes.length} searchable layers, the file lists ${Array.isArray(f.layers) ? f.layers.length : 'none'}`);
  }
  const cells = f.layers.map((layer, b) => {
    if (!layer?.shape || !sameShape(layer.shape, shapes[b])) {
      throw new SpaceFileError(`${where}: layer ${b} shape ${JSON.stringify(layer?.shape)} does not match layout ${layout.name} (${JSON.stringify(shapes[b])})`);
    }
    if (!Array.isArray(layer.cells) || layer.cells.length === 0) throw new SpaceFileError(`${where}: layer ${b} has no cells`);
    return layer.cells.map((e, j) => {
      try {
        const c = parseCell(e.cell);
        validateCell(c, shapes[b]);
        return c;
      } catch (err) {
        if (err instanceof CellError) throw new SpaceFileError(`${where}: layer ${b} cell ${j} '${e.cell}': ${err.message}`);
        throw err;
      }
    });
  });
  return { file: f, layout, shapes, cells };
}

export function readSpaceFile(path: string): CellSpace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpaceFileError(`cannot read space file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SpaceFileError(`space file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return loadSpace(json, path);
}

export function writeSpaceFile(path: string, f: SpaceFile): void {
  writeFileSync(path, JSON.stringify(f, null, 2) + '\n');
}

export function spaceFromLayout(layout: ProxylessLayout): CellSpace {
  return loadSpace(handDesignedSpace(layout));
}

/** MAdds of the architecture's searchable layers (choices index each layer's cells). */
export function choicesMadds(space: CellSpace, choices: readonly number[]): number {
  return choices.reduce((s, j, b) => s + cellMadds(space.cells[b][j], space.shapes[b]), 0);
}

/** One architecture of a cell space as JSON (what searches over a space write, and read back). */
export function archJson(space: CellSpace, choices: readonly number[]): Record<string, unknown> {
  if (choices.length !== space.cells.length) throw new RangeError(`archJson: ${choices.length} choices for ${space.cells.length} layers`);
  return {
    format: 'wgnas-arch',
    version: SPACE_VERSION,
    layout: space.layout.name,
    spaceSource: space.file.source,
    choices: [...choices],
    cells: choices.map((j, b) => {
      const c = space.cells[b][j];
      if (!c) throw new RangeError(`archJson: choice ${j} out of range at layer ${b} (${space.cells[b].length} cells)`);
      return formatCell(c);
    }),
    madds: choicesMadds(space, choices),
  };
}
