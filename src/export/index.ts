/**
 * Exporting a found network: an NB201 cell string, a ProxylessNAS net.config (or the compact
 * architecture form) or a wgnas-arch JSON (an architecture of a cell space) becomes an inference
 * graph with the network's weights (seeded as the network initialises them, or a weights file),
 * BN in inference form, written as ONNX (onnx.ts).
 *
 * BN statistics: wgnas' networks normalise with the statistics of the batch they see (there are no
 * running statistics in an untrained or a searched network). A weights file with running statistics
 * for every BN gives them; otherwise they are calibrated: the batch statistics of `calibrationBatch`
 * seeded N(0, 1) images (calibrationInput), so that on that batch the ONNX model computes exactly
 * what wgnas' forward computes. The model's metadata says which.
 */
import { basename } from 'node:path';
import { ArchError, parseArch as parseProxylessArch, type ProxylessArch } from '../latency/arch.js';
import { archToCellNet } from '../mobilenet/proxyless-arch.js';
import { type Cell, CellError, validateCell } from '../mobilenet/cell.js';
import { parseCell } from '../mobilenet/cell-text.js';
import { type BnSettings, DEFAULT_BN } from '../mobilenet/space-file.js';
import { SPACE_VERSION } from '../mobilenet/space.js';
import { getLayout, layerShapes } from '../mobilenet/layout.js';
import { NB201_DEFAULT, type Nb201NetConfig } from '../nn/nb201-net.js';
import { parseArch as parseNb201 } from '../spaces/nb201.js';
import { Rng } from '../util/rng.js';
import { BN_EPS, type Graph, type Tensor } from './graph.js';
import {
  buildGraph,
  describeNetwork,
  type ExportNetwork,
  inputSize,
  networkBnEps,
  paramLookup,
  seededParams,
} from './networks.js';
import { referenceForward } from './reference.js';
import { inputSpecMeta } from './preprocessing.js';
import { readWeights } from './weights.js';
import { UserFacingError } from '../util/errors.js';

export { type ExportNetwork, describeNetwork, networkBnEps, networkDigest } from './networks.js';
export type { Graph } from './graph.js';

export class ExportError extends UserFacingError {
  override readonly name = 'ExportError';
}

/**
 * An NB201 cell string (`|nor_conv_3x3~0|+|...|`) as a network of `cfg`'s size; unfed edges 'zeros'
 * unless cfg says otherwise (what `wgnas train` trains and NAS-Bench-201's PyTorch code computes).
 */
export function nb201Network(arch: string, cfg: Partial<Nb201NetConfig> = {}): ExportNetwork {
  return { kind: 'nb201', cell: parseNb201(arch), cfg: { ...NB201_DEFAULT, unfedEdges: 'zeros', ...cfg }, inputHW: 32 };
}

/** The wgnas-nb201 version this wgnas writes and reads. */
export const NB201_FILE_VERSION = 1;

/**
 * The file of an NB201 network (wgnas-nb201 JSON): what a search's --train-out network.json holds.
 * `extra`: fields after the network's (a search's --out records its provenance), which readers ignore.
 */
export function nb201NetworkText(
  arch: string,
  size: { channels: number; cellsPerStage: number },
  extra: Record<string, unknown> = {},
): string {
  return `${JSON.stringify({ format: 'wgnas-nb201', version: NB201_FILE_VERSION, arch, ...size, ...extra }, null, 2)}\n`;
}

/**
 * A network file's `version` is one this wgnas reads (`format`'s only one so far), else one line
 * naming the file: a newer wgnas's file read as this one's could be built as another network.
 */
function checkFileVersion(v: Record<string, unknown>, format: string, reads: number, where: string): void {
  if (v.version === reads) return;
  const was = v.version === undefined ? "has no 'version'" : `has version ${JSON.stringify(v.version) ?? String(v.version)}`;
  throw new ExportError(`${where}: this ${format} file ${was}; this wgnas reads ${format} version ${reads}`);
}

/** A wgnas-nb201 JSON ({format, arch, channels?, cellsPerStage?}) as a network; 32x32. */
function nb201FileNetwork(v: Record<string, unknown>, resolution: number | undefined, where: string): ExportNetwork {
  if (resolution !== undefined && resolution !== 32)
    throw new ExportError(`${where}: an NB201 network is 32x32, not ${resolution}: drop --resolution`);
  if (typeof v.arch !== 'string') throw new ExportError(`${where}: 'arch' must be an NB201 cell string |op~0|+|op~0|op~1|+|...|`);
  const size = (k: 'channels' | 'cellsPerStage', max: number): number | undefined => {
    const x = v[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > max)
      throw new ExportError(`${where}: '${k}' must be an integer in 1..${max}, got ${JSON.stringify(x)}`);
    return x;
  };
  const cfg = { channels: size('channels', 1024), cellsPerStage: size('cellsPerStage', 32) };
  try {
    return nb201Network(v.arch, Object.fromEntries(Object.entries(cfg).filter(([, x]) => x !== undefined)));
  } catch (e) {
    throw new ExportError(`${where}: 'arch': ${(e as Error).message}`);
  }
}

/** A net.config / compact architecture / wgnas-arch / wgnas-nb201 JSON value as a network. */
export function jsonNetwork(json: unknown, resolution?: number, where = 'network'): ExportNetwork {
  const v = json as Record<string, unknown> | null;
  if (v && typeof v === 'object' && v.format === 'wgnas-nb201') {
    checkFileVersion(v, 'wgnas-nb201', NB201_FILE_VERSION, where);
    return nb201FileNetwork(v, resolution, where);
  }
  if (v && typeof v === 'object' && v.format === 'wgnas-arch') {
    checkFileVersion(v, 'wgnas-arch', SPACE_VERSION, where);
    const layout = getLayout(String(v.layout));
    const shapes = layerShapes(layout);
    const { cells: texts, choices } = v as { cells?: unknown; choices?: unknown };
    if (!Array.isArray(texts) || texts.length !== shapes.length)
      throw new ExportError(`${where}: 'cells' must list ${shapes.length} cells (layout ${layout.name})`);
    if (!Array.isArray(choices) || choices.length !== shapes.length || !choices.every((c) => Number.isInteger(c) && c >= 0)) {
      throw new ExportError(`${where}: 'choices' must be ${shapes.length} candidate indices`);
    }
    const cells: Cell[] = texts.map((t, b) => {
      try {
        const c = parseCell(String(t));
        validateCell(c, shapes[b]);
        return c;
      } catch (e) {
        if (e instanceof CellError || e instanceof SyntaxError)
          throw new ExportError(`${where}: layer ${b} cell '${String(t)}': ${e.message}`);
        throw e;
      }
    });
    // Written by every search since it records its BN; older files (none) trained at wgnas's.
    const bn = v.bn === undefined ? null : checkBn(v.bn, where, DEFAULT_BN);
    return {
      kind: 'mobilenet',
      layout,
      cells,
      choices: choices as number[],
      bnEps: bn?.eps ?? BN_EPS,
      ...(bn ? { bnMomentum: bn.momentum } : {}),
      description: `MobileNet cell network, layout ${layout.name} (${texts.join(' | ')})${epsSaid(bn?.eps ?? BN_EPS)}`,
    };
  }
  if (!(v && typeof v === 'object' && ('first_conv' in v || ('stem' in v && 'blocks' in v))))
    throw new ExportError(
      `${where}: unrecognised network: expected a ProxylessNAS net.config (first_conv, blocks, feature_mix_layer, classifier), ` +
        "a compact {inputSize, stem, blocks, featureMix, classes} object, a wgnas-arch JSON ({format: 'wgnas-arch', layout, cells, choices}, as search/proxyless --space-file --out write it) " +
        "or a wgnas-nb201 JSON ({format: 'wgnas-nb201', arch, channels, cellsPerStage}, as a search's --train-out network.json)",
    );
  // The compact form is wgnas's own (no BN settings): wgnas's eps.
  const bn: { eps: number; momentum?: number } =
    'first_conv' in v ? (v.bn === undefined ? PROXYLESS_BN : checkBn(v.bn, where, PROXYLESS_BN)) : { eps: BN_EPS };
  let arch: ProxylessArch;
  try {
    arch = parseProxylessArch(json, resolution);
  } catch (e) {
    // The file named, the parser's own prefix dropped: one line a user can act on.
    if (e instanceof ArchError) throw new ExportError(`${where}: ${e.message.replace(/^net config: /, '')}`);
    throw e;
  }
  const net = archToCellNet(arch);
  return {
    kind: 'mobilenet',
    ...net,
    bnEps: bn.eps,
    ...(bn.momentum !== undefined ? { bnMomentum: bn.momentum } : {}),
    description:
      `ProxylessNAS MobileNet, layout ${net.layout.name}, ${arch.inputSize}x${arch.inputSize}, ${arch.blocks.length} blocks` +
      epsSaid(bn.eps),
  };
}

/**
 * The eps as part of what the network is (weights files and train checkpoints record it); 1e-5 is
 * left unsaid, so the names that weights of such networks carry stay as they were.
 */
const epsSaid = (eps: number): string => (eps !== BN_EPS ? `, BN eps ${eps}` : '');

/** ProxylessNASNets.build_from_config's BN when a net.config has no `bn`: momentum 0.1, eps 1e-3. */
const PROXYLESS_BN: BnSettings = { eps: 1e-3, momentum: 0.1 };

/**
 * A network file's `bn`, applied to every BN as ProxylessNASNets.build_from_config applies a
 * net.config's (set_bn_param(**config['bn']): both momentum and eps). Momentum 0 (statistics that
 * never move) is refused with the rest: the running statistics take (0, 1].
 */
function checkBn(bn: unknown, where: string, dflt: BnSettings): BnSettings {
  const o = bn as { eps?: unknown; momentum?: unknown } | null;
  const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;
  if (!(o && typeof o === 'object' && positive(o.eps) && positive(o.momentum) && o.momentum <= 1))
    throw new ExportError(
      `${where}: 'bn' must be {momentum, eps} with momentum in (0, 1] and eps > 0 (without it: ${JSON.stringify({ momentum: dflt.momentum, eps: dflt.eps })}), got ${JSON.stringify(bn)}`,
    );
  return { eps: o.eps, momentum: o.momentum };
}

/**
 * Weights trained for another network are refused before their tensors are matched: another class
 * count (naming it), or another network than the one their file records (e.g. another resolution,
 * where every tensor would still fit).
 */
function checkWeightsFit(net: ExportNetwork, w: { tensors: Map<string, Tensor>; network?: string }, path: string): void {
  const classes = net.kind === 'nb201' ? net.cfg.numClasses : net.layout.classes;
  const cw = w.tensors.get('classifier.w');
  if (cw && cw.shape.length === 2 && cw.shape[0] !== classes)
    throw new ExportError(
      `${path}: its classifier has ${cw.shape[0]} outputs, the network exported ${classes} (trained on a ${cw.shape[0]}-class dataset? export with --classes ${cw.shape[0]})`,
    );
  const want = describeNetwork(net);
  if (w.network !== undefined && w.network !== want)
    throw new ExportError(`${path} holds the weights of ${w.network}, not of the network exported: ${want}`);
}

/** The calibration batch: `batch` N(0, 1) images, seeded. */
export function calibrationInput(net: ExportNetwork, batch: number, seed: number): Float32Array {
  const s = inputSize(net);
  return new Rng(seed + 1).normals(batch * 3 * s * s);
}

export interface ExportOptions {
  /** Weight and calibration seed. Default 0. */
  seed?: number;
  /** A weights file (weights.ts) instead of seeded weights. */
  weights?: string;
  /** Images whose batch statistics become the BN statistics (when the weights have none). Default 8. */
  calibrationBatch?: number;
  /** Skip calibration: BN statistics stay (0, 1) unless the weights have them (for timing only). */
  noCalibration?: boolean;
}

/** The network's inference graph with its weights and BN statistics. */
export function exportGraph(net: ExportNetwork, o: ExportOptions = {}): Graph {
  const seed = o.seed ?? 0;
  let params: Map<string, Tensor>;
  let init: string;
  let input: Record<string, string> = {};
  if (o.weights) {
    const w = readWeights(o.weights);
    checkWeightsFit(net, w, o.weights);
    params = w.tensors;
    // The file's name and content hash, never its local path (the model travels; the path does not).
    init = `weights file ${basename(o.weights)} (sha256 ${w.sha256.slice(0, 16)})`;
    if (w.input) input = inputSpecMeta(w.input);
  } else {
    params = seededParams(net, seed);
    init = `seeded: wgnas' initialisation (PyTorch defaults: kaiming-uniform convs and linear, BN gamma 1, beta 0), seed ${seed}`;
  }
  const graph = buildGraph(net, paramLookup(params, o.weights ?? 'the network'));
  const bases = graph.nodes.flatMap((n) => (n.op === 'bn' ? [n.gamma.replace(/\.gamma$/, '')] : []));
  const withStats = bases.filter((b) => params.has(`${b}.running_mean`) && params.has(`${b}.running_var`));
  let bn: string;
  if (withStats.length > 0) {
    if (withStats.length < bases.length) {
      const miss = bases.find((b) => !withStats.includes(b))!;
      throw new ExportError(
        `${o.weights}: has BN running statistics for ${withStats.length} of ${bases.length} BN layers, none for '${miss}' (all or none)`,
      );
    }
    const look = paramLookup(params, o.weights!);
    for (const b of bases) {
      const c = graph.tensors.get(`${b}.gamma`)!.shape;
      graph.tensors.set(`${b}.running_mean`, look(`${b}.running_mean`, c));
      graph.tensors.set(`${b}.running_var`, look(`${b}.running_var`, c));
    }
    bn = 'running statistics from the weights file';
  } else if (o.noCalibration) {
    bn = 'none (mean 0, variance 1): not calibrated, for timing only';
  } else {
    const batch = o.calibrationBatch ?? 8;
    const s = inputSize(net);
    referenceForward(graph, calibrationInput(net, batch, seed), { calibrate: true });
    bn = `batch statistics of ${batch} N(0,1) images of 3x${s}x${s} (seed ${seed + 1}, the weight seed ${seed} + 1), the statistics wgnas' forward normalises with on that batch`;
  }
  graph.meta = {
    ...graph.meta,
    network: describeNetwork(net),
    init,
    'bn-statistics': bn,
    'bn-epsilon': String(networkBnEps(net)),
    layout: 'NCHW float32, input [N, 3, H, W], output logits [N, classes]',
    ...input,
  };
  return graph;
}
