/** --net / --nb201: the network a command works on (wgnas export, wgnas train, wgnas predict, wgnas profile --net). */
import { readFileSync } from 'node:fs';

import { ExportError, jsonNetwork, nb201Network, type ExportNetwork } from '../export/index.js';
import { parseArch, type ProxylessArch } from '../latency/arch.js';
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

/** The network of a --net file (predict, profile --net): its JSON and its parts; errors name the file. */
export function readNetArch(path: string, resolution: number | undefined): { json: unknown; arch: ProxylessArch } {
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
  try {
    return { json, arch: parseArch(json, resolution) };
  } catch (e) {
    const err = e as Error;
    throw new Error(`network config ${path}: ${err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
  }
}
