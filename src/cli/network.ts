/** --net / --nb201: the network a command works on (wgnas export, wgnas train, wgnas predict, wgnas profile --net). */
import { readFileSync } from 'node:fs';

import { ExportError, jsonNetwork, nb201Network, type ExportNetwork } from '../export/index.js';
import { ArchError, archParts, parseArch, type ProxylessArch } from '../latency/arch.js';
import type { LatencyTable } from '../latency/lut.js';
import { type Cell, isZeroCell, mbconvOf } from '../mobilenet/cell.js';
import { cellNetParts, isNodeKey } from '../mobilenet/cell-latency-keys.js';
import { formatCell } from '../mobilenet/cell-text.js';
import type { MobileNetLayout } from '../mobilenet/layout.js';
import { cellNetArch } from '../mobilenet/proxyless-arch.js';
import { withClasses } from '../train/network.js';
import { UsageError } from './errors.js';
import type { ValuesOf } from './spec.js';
import type { EXPORT_OPTIONS } from './specs/export.js';

/** An --nb201 network's classifier outputs when --classes is not given (CIFAR-10's). */
export const NB201_CLASSES = 10;

/**
 * The network named by --net or --nb201 (errors name the flag or the file). `classes`: the
 * classifier's outputs (default: --nb201's 10, a network file's own).
 */
export function networkOf(
  values: Pick<ValuesOf<typeof EXPORT_OPTIONS>, 'net' | 'nb201' | 'channels' | 'cells-per-stage' | 'classes'> & {
    resolution?: number;
  },
): ExportNetwork {
  if (values.nb201 !== undefined) {
    try {
      return nb201Network(values.nb201, {
        channels: values.channels,
        cellsPerStage: values['cells-per-stage'],
        numClasses: values.classes ?? NB201_CLASSES,
      });
    } catch (e) {
      throw new UsageError(`--nb201: ${(e as Error).message}`);
    }
  }
  if (values.net === undefined) throw new UsageError('give the network: --net CONFIG.json or --nb201 ARCH');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(values.net, 'utf8'));
  } catch (e) {
    throw new Error(`${values.net} is not valid JSON: ${(e as Error).message}`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  try {
    const net = jsonNetwork(json, values.resolution, values.net);
    // A cell network's resolution is its layout's: a --resolution that differs would be ignored.
    if (
      format === 'wgnas-arch' &&
      net.kind === 'mobilenet' &&
      values.resolution !== undefined &&
      values.resolution !== net.layout.inputSize
    )
      throw new UsageError(
        `--resolution ${values.resolution}: ${values.net} is a wgnas-arch network of layout ${net.layout.name}, ${net.layout.inputSize}x${net.layout.inputSize}; drop --resolution`,
      );
    return values.classes === undefined ? net : withClasses(net, values.classes);
  } catch (e) {
    const err = e as Error;
    if (err instanceof ExportError || err instanceof UsageError || err.message.includes(values.net)) throw err;
    throw new Error(`network file ${values.net}: ${err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
  }
}

/**
 * The network of a --net file as predict and profile --net price it: a ProxylessNAS net.config or
 * the compact {inputSize, stem, blocks, featureMix, classes} form (its blocks' keys), or a wgnas-arch
 * (read as export and train read it): its MBConv cells as blocks where every cell is one, and its
 * cells' nodes (the keys `wgnas profile --space-file` writes).
 */
export interface NetParts {
  json: unknown;
  inputSize: number;
  /** The network as ProxylessNAS blocks; null for a cell network with a cell that is no MBConv. */
  arch: ProxylessArch | null;
  /** A wgnas-arch's cell network. */
  cells: { layout: MobileNetLayout; cells: Cell[] } | null;
}

/** The network of a --net file (predict, profile --net): its JSON and its parts; errors name the file. */
export function readNetArch(path: string, resolution: number | undefined): NetParts {
  let netText: string;
  try {
    netText = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read network config ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(netText);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if ((json as { format?: unknown } | null)?.format === 'wgnas-arch') {
    const net = jsonNetwork(json, undefined, path);
    if (net.kind !== 'mobilenet') throw new Error(`network config ${path}: not a MobileNet cell network`);
    if (resolution !== undefined && resolution !== net.layout.inputSize)
      throw new UsageError(
        `--resolution ${resolution}: ${path} is a wgnas-arch network of layout ${net.layout.name}, ${net.layout.inputSize}x${net.layout.inputSize}; drop --resolution`,
      );
    return { json, inputSize: net.layout.inputSize, arch: cellNetArch(net.layout, net.cells), cells: net };
  }
  try {
    const arch = parseArch(json, resolution);
    return { json, inputSize: arch.inputSize, arch, cells: null };
  } catch (e) {
    const err = e as Error;
    if (err instanceof ArchError) throw new Error(`network config ${path}: ${err.message.replace(/^net config: /, '')}`);
    throw new Error(`network config ${path}: ${err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
  }
}

/**
 * The parts to price the network by: its blocks' keys, except for a cell network whose blocks the
 * table lacks while it has cell-node keys, or that has no blocks (a learned cell): its nodes' keys.
 * Without a table (profile --net), blocks where the network has them.
 */
export function netParts(n: NetParts, table?: LatencyTable): Array<{ name: string; key: string }> {
  const blocks = n.arch && archParts(n.arch);
  if (!n.cells) return blocks!;
  const nodes = () => cellNetParts(n.cells!.layout, n.cells!.cells);
  if (!blocks) return nodes();
  if (!table || blocks.every((p) => table.entries.has(p.key))) return blocks;
  return [...table.entries.keys()].some(isNodeKey) ? nodes() : blocks;
}

/** Why a table cannot price a cell network at all (a learned cell, a table of blocks only), or null. */
export function unpricedCells(n: NetParts, table: LatencyTable, path: string, tablePath: string): string | null {
  if (n.arch || !n.cells || [...table.entries.keys()].some(isNodeKey)) return null;
  const b = n.cells.cells.findIndex((c) => !isZeroCell(c) && !mbconvOf(c));
  return `--net ${path}: layer ${b}'s cell ${formatCell(n.cells.cells[b])} is no MBConv block: a table prices it by its nodes' keys (conv-/dwconv-), and ${tablePath} has none; time them on the table's device: wgnas profile --net ${path}`;
}
