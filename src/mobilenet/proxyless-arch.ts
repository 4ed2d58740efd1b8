/**
 * A ProxylessNAS architecture (net.config or the compact form, arch.ts) as the cell network wgnas
 * builds and runs (src/mobilenet: a layout, one cell per searchable layer): the GPU profiler times
 * whole networks this way and the ONNX export builds them this way. An architecture that is one of
 * a built-in layout's (what `wgnas proxyless` derives) gets that layout, so its parameters carry
 * the names `wgnas train` gives them; any other gets a layout made from its own stages.
 */
import { ArchError, type BlockSpec, type MBBlock, type ProxylessArch, validateArch } from '../latency/arch.js';
import { isMbconvExpand, isMbconvKernel, MBCONV_EXPANDS, MBCONV_KERNELS } from '../latency/space.js';
import { type Cell, hasShortcut, isZeroCell, mbconvCell, mbconvOf, zeroCell } from './cell.js';
import { LAYOUTS, type MobileNetLayout, layerShapes, layoutSpace } from './layout.js';

export interface CellNet {
  layout: MobileNetLayout;
  /** The cell of each searchable layer (the fixed first block is the layout's). */
  cells: Cell[];
  /** Candidate index of each layer in the layout's space (parameter names: b{layer}.c{choice}). */
  choices: number[];
}

/** What an MBConv block of a cell network may be. */
const CANDIDATES = `kernel and expand ratio must be ${MBCONV_KERNELS.join('/')} and ${MBCONV_EXPANDS.join('/')}`;

const sameList = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The layout an architecture's stages describe (a stage starts where the stride is 2 or the width changes). */
function ownLayout(arch: ProxylessArch, name: string): MobileNetLayout {
  const [first, ...rest] = arch.blocks;
  if (first === undefined || first === 'zero' || first.kernel !== 3 || first.expand !== 1 || first.stride !== 1) {
    throw new ArchError('blocks[0] must be the fixed first block of a ProxylessNAS net (MBConv expand 1, kernel 3, stride 1)');
  }
  if (arch.stem.kernel !== 3) throw new ArchError(`the stem conv must be 3x3 (got ${arch.stem.kernel}x${arch.stem.kernel})`);
  if (!arch.featureMix) throw new ArchError('the network needs a feature-mix 1x1 conv (feature_mix_layer)');
  const widths: number[] = [];
  const depths: number[] = [];
  const strides: number[] = [];
  rest.forEach((b, i) => {
    const opens = b !== 'zero' && (b.stride === 2 || b.outC !== widths.at(-1) || widths.length === 0);
    if (b === 'zero' && widths.length === 0) throw new ArchError(`block ${i + 1}: a zero block cannot open the first stage`);
    if (opens) {
      widths.push((b as MBBlock).outC);
      depths.push(1);
      strides.push((b as MBBlock).stride);
    } else depths[depths.length - 1]++;
  });
  if (widths.length === 0) throw new ArchError('the network has no searchable blocks after the first one');
  const used = rest.filter((b): b is MBBlock => b !== 'zero');
  used.forEach((b) => {
    if (!isMbconvKernel(b.kernel) || !isMbconvExpand(b.expand))
      throw new ArchError(`block ${arch.blocks.indexOf(b)}: ${CANDIDATES} (got kernel ${b.kernel}, expand ${b.expand})`);
  });
  const uniq = <T extends number>(xs: T[]) => [...new Set(xs)].sort((a, b) => a - b);
  return {
    name,
    inputSize: arch.inputSize,
    stemC: arch.stem.outC,
    stemStride: arch.stem.stride,
    firstBlockC: first.outC,
    widths,
    depths,
    strides,
    kernels: uniq(used.map((b) => b.kernel).filter(isMbconvKernel)),
    expands: uniq(used.map((b) => b.expand).filter(isMbconvExpand)),
    featureMixC: arch.featureMix.outC,
    classes: arch.classes,
  };
}

/** Whether `layout` has the architecture's stages and offers each of its blocks. */
function fits(layout: MobileNetLayout, own: MobileNetLayout): boolean {
  return (
    layout.inputSize === own.inputSize &&
    layout.stemC === own.stemC &&
    layout.stemStride === own.stemStride &&
    layout.firstBlockC === own.firstBlockC &&
    sameList(layout.widths, own.widths) &&
    sameList(layout.depths, own.depths) &&
    sameList(layout.strides, own.strides) &&
    layout.featureMixC === own.featureMixC &&
    layout.classes === own.classes &&
    own.kernels.every((k) => layout.kernels.includes(k)) &&
    own.expands.every((e) => layout.expands.includes(e))
  );
}

/** The architecture as a cell network; ArchError when it is not a ProxylessNAS-style MobileNet. */
export function archToCellNet(arch: ProxylessArch, name = 'net'): CellNet {
  validateArch(arch);
  const own = ownLayout(arch, name);
  const layout = Object.values(LAYOUTS).find((l) => fits(l, own)) ?? own;
  const positions = layoutSpace(layout).positions.slice(1);
  const blocks = arch.blocks.slice(1);
  const choices = positions.map((pos, b) => {
    const blk = blocks[b];
    const j = pos.candidates.findIndex((c) =>
      c === 'zero' ? blk === 'zero' : blk !== 'zero' && c.kernel === blk.kernel && c.expand === blk.expand,
    );
    if (j < 0) throw new ArchError(`block ${b + 1} is not a candidate of its position (${CANDIDATES})`);
    return j;
  });
  // ProxylessNAS adds a block's shortcut only where its config has one; wgnas's layers add it wherever
  // the shape allows (as ProxylessNAS's own search space does), so a config without it is another network.
  blocks.forEach((blk, b) => {
    if (blk !== 'zero' && !blk.idskip && blk.stride === 1 && blk.inC === blk.outC)
      throw new ArchError(
        `block ${b + 1} (stride 1, ${blk.inC} -> ${blk.outC} channels) has no identity shortcut: wgnas builds one wherever the shape allows it, as ProxylessNAS's search space does`,
      );
  });
  const cells = choices.map((j, b) => {
    const c = positions[b].candidates[j];
    if (c === 'zero') return zeroCell();
    // The layout's candidates (validateLayout checked them): narrowed, never cast.
    if (!isMbconvKernel(c.kernel) || !isMbconvExpand(c.expand)) throw new ArchError(`block ${b + 1}: ${CANDIDATES}`);
    return mbconvCell(c.kernel, c.expand);
  });
  return { layout, cells, choices };
}

/**
 * The inverse: a cell network whose every cell is an MBConv or the zero cell (what `wgnas proxyless`
 * and a hand-designed space's searches find, written as wgnas-arch) as a ProxylessNAS architecture,
 * with the identity skip wherever the layer has a shortcut, as wgnas builds it. Null when a cell is
 * neither (a cell of a learned space): only its nodes' keys price it.
 */
export function cellNetArch(layout: MobileNetLayout, cells: readonly Cell[]): ProxylessArch | null {
  const first = layoutSpace(layout).positions[0];
  const shapes = layerShapes(layout);
  const blocks: BlockSpec[] = [
    { kernel: 3, expand: 1, stride: 1, inC: first.inC, outC: first.outC, inH: first.inH, idskip: false },
  ];
  for (const [b, cell] of cells.entries()) {
    const s = shapes[b];
    if (isZeroCell(cell)) {
      blocks.push('zero');
      continue;
    }
    const mb = mbconvOf(cell);
    if (!mb) return null;
    blocks.push({ ...mb, stride: s.stride, inC: s.inC, outC: s.outC, inH: s.inH, idskip: hasShortcut(s) });
  }
  return {
    inputSize: layout.inputSize,
    stem: { outC: layout.stemC, kernel: 3, stride: layout.stemStride },
    blocks,
    featureMix: { outC: layout.featureMixC },
    classes: layout.classes,
  };
}
