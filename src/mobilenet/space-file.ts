/**
 * Space files (JSON, see space.ts): building, loading with checks that name the file, layer, cell
 * and field at fault, and writing. Also the JSON form of one architecture of a space (wgnas-arch).
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_BN_EPS } from '../kernels/params.js';
import { writeFileAtomic } from '../util/durable.js';
import { type Cell, CellError, type LayerShape, cellMadds, cellParams, handDesignedCells, validateCell } from './cell.js';
import { formatCell, parseCell } from './cell-text.js';
import { LAYOUTS, type MobileNetLayout, getLayout, layerShapes, validateLayout } from './layout.js';
import { archMadds, choicesMadds } from './madds.js';
import { type BnSettings, type CellSpace, SPACE_FORMAT, SPACE_VERSION, type SpaceCellEntry, type SpaceFile } from './space.js';
import { UserFacingError } from '../util/errors.js';

export type { BnSettings };

export class SpaceFileError extends UserFacingError {
  constructor(message: string) {
    super(message);
    this.name = 'SpaceFileError';
  }
}

const sameShape = (a: LayerShape, b: LayerShape) =>
  a.inC === b.inC && a.outC === b.outC && a.stride === b.stride && a.inH === b.inH;

/** A value as it appears in an error: JSON, cut short. */
const show = (v: unknown): string => {
  const s = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Built-in layouts by name, others inline. */
export function layoutRef(layout: MobileNetLayout): string | MobileNetLayout {
  return LAYOUTS[layout.name] === layout ? layout.name : { ...layout };
}

export function spaceEntry(cell: Cell, shape: LayerShape, fitness?: number): SpaceCellEntry {
  const e: SpaceCellEntry = { cell: formatCell(cell), madds: cellMadds(cell, shape), params: cellParams(cell, shape) };
  if (fitness !== undefined) e.fitness = fitness;
  return e;
}

/** The layout's ProxylessNAS candidates (MBConv over its kernels × expands, plus zero where a shortcut exists) as a space. */
export function handDesignedSpace(layout: MobileNetLayout): SpaceFile {
  validateLayout(layout);
  const opts = { kernels: layout.kernels, expands: layout.expands };
  return {
    format: SPACE_FORMAT,
    version: SPACE_VERSION,
    source: 'hand-designed',
    layout: layoutRef(layout),
    layers: layerShapes(layout).map((shape) => ({
      shape,
      cells: handDesignedCells(shape, opts).map((c) => spaceEntry(c, shape)),
    })),
  };
}

function loadLayout(ref: unknown, where: string): MobileNetLayout {
  try {
    if (typeof ref === 'string') return getLayout(ref);
    if (!ref || typeof ref !== 'object' || Array.isArray(ref))
      throw new Error(`layout must be a layout name (${Object.keys(LAYOUTS).join(', ')}) or an object, got ${show(ref)}`);
    validateLayout(ref as MobileNetLayout);
    return ref as MobileNetLayout;
  } catch (e) {
    throw new SpaceFileError(`${where}: ${(e as Error).message}`);
  }
}

/** Validates a parsed JSON value against its layout; errors name the layer, the cell and the field. */
export function loadSpace(json: unknown, where = 'space'): CellSpace {
  const f = json as SpaceFile;
  if (!f || typeof f !== 'object' || f.format !== SPACE_FORMAT)
    throw new SpaceFileError(
      `${where}: not a ${SPACE_FORMAT} file (format field is ${show((f as { format?: unknown })?.format)})`,
    );
  if (f.version !== SPACE_VERSION)
    throw new SpaceFileError(`${where}: version ${show(f.version)} is not supported (expected ${SPACE_VERSION})`);
  const layout = loadLayout(f.layout, where);
  if (f.bn !== undefined) checkSpaceBn(f.bn, where);
  const shapes = layerShapes(layout);
  if (!Array.isArray(f.layers) || f.layers.length !== shapes.length) {
    throw new SpaceFileError(
      `${where}: layout ${layout.name} has ${shapes.length} searchable layers, the file lists ${Array.isArray(f.layers) ? f.layers.length : 'none'}`,
    );
  }
  const cells = f.layers.map((layer, b) => {
    if (!layer || typeof layer !== 'object')
      throw new SpaceFileError(`${where}: layers[${b}] must be an object with shape and cells, got ${show(layer)}`);
    if (!layer.shape || !sameShape(layer.shape, shapes[b])) {
      throw new SpaceFileError(
        `${where}: layer ${b} shape ${show(layer.shape)} does not match layout ${layout.name} (${JSON.stringify(shapes[b])})`,
      );
    }
    if (!Array.isArray(layer.cells) || layer.cells.length === 0)
      throw new SpaceFileError(`${where}: layer ${b} has no cells (layers[${b}].cells is ${show(layer.cells)})`);
    // The canonical text is the cell's identity: a layer lists each cell once (two copies would be two
    // candidates of one cell with separate weights, and halve each one's training in a supernet).
    const seen = new Map<string, number>();
    return layer.cells.map((e, j) => {
      if (!e || typeof e !== 'object')
        throw new SpaceFileError(`${where}: layers[${b}].cells[${j}] must be an object with a 'cell' string, got ${show(e)}`);
      if (typeof e.cell !== 'string') {
        throw new SpaceFileError(
          `${where}: layers[${b}].cells[${j}].cell must be a cell string like 'pw6<0;dw3<1;pwl<2;=>3' or 'zero', got ${show(e.cell)}`,
        );
      }
      let c: Cell;
      try {
        c = parseCell(e.cell);
        validateCell(c, shapes[b]);
      } catch (err) {
        if (err instanceof CellError) throw new SpaceFileError(`${where}: layer ${b} cell ${j} '${e.cell}': ${err.message}`);
        throw err;
      }
      const key = formatCell(c);
      const first = seen.get(key);
      if (first !== undefined)
        throw new SpaceFileError(
          `${where}: layer ${b} lists cell '${key}' twice (cells ${first} and ${j}); each cell may appear once per layer`,
        );
      seen.set(key, j);
      return c;
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

/** Writes atomically (temp, fsync, rename), so a killed run never leaves half a space file. */
export function writeSpaceFile(path: string, f: SpaceFile): void {
  writeFileAtomic(path, JSON.stringify(f, null, 2) + '\n');
}

/** The layout's own candidates as a cell space (what a search without a space file searches). */
export function spaceFromLayout(layout: MobileNetLayout): CellSpace {
  return loadSpace(handDesignedSpace(layout));
}

/** The BN of wgnas's networks unless a search says otherwise: its eps, PyTorch's momentum. */
export const DEFAULT_BN: Readonly<BnSettings> = { eps: DEFAULT_BN_EPS, momentum: 0.1 };

/** A recorded `bn` is what the space's networks get built at: a bad one is refused, not used. */
function checkSpaceBn(bn: unknown, where: string): void {
  const o = bn as { eps?: unknown; momentum?: unknown } | null;
  const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
  if (!(o && typeof o === 'object' && positive(o.eps) && positive(o.momentum) && o.momentum <= 1))
    throw new SpaceFileError(`${where}: bn must be {momentum, eps} with momentum in (0, 1] and eps > 0, got ${show(bn)}`);
}

/**
 * The BN a space's networks are built at: the one its file records (AutoSpace writes the BN its
 * cells evolved with), else `fallback` (older files and hand-designed spaces record none).
 */
export function spaceBn(space: CellSpace, fallback: Readonly<BnSettings> = DEFAULT_BN): BnSettings {
  const bn = space.file.bn;
  return bn ? { eps: bn.eps, momentum: bn.momentum } : { eps: fallback.eps, momentum: fallback.momentum };
}

/**
 * One architecture of a cell space as JSON (what searches over a space write, and read back). `bn`:
 * the BN settings the search's networks used, so the network trains and exports at them.
 */
export function archJson(
  space: CellSpace,
  choices: readonly number[],
  bn: Readonly<BnSettings> = DEFAULT_BN,
): Record<string, unknown> {
  if (choices.length !== space.cells.length)
    throw new RangeError(`archJson: ${choices.length} choices for ${space.cells.length} layers`);
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
    bn: { momentum: bn.momentum, eps: bn.eps },
    // The whole network (what every command prints and a --min-madds / --budget-madds band bounds),
    // and the searched cells' share of it.
    madds: archMadds(space, choices),
    cellMadds: choicesMadds(space, choices),
  };
}
