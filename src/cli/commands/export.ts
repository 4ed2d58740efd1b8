/** wgnas export: a found network as an ONNX model. */
import { readFileSync } from 'node:fs';

import { ExportError, exportGraph, jsonNetwork, nb201Network, type ExportNetwork } from '../../export/index.js';
import { toOnnx } from '../../export/onnx.js';
import { writeFileAtomic } from '../../util/durable.js';
import { UsageError } from '../errors.js';
import { packageVersion, runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { EXPORT, type EXPORT_OPTIONS } from '../specs/export.js';

export const summary = EXPORT.summary;

/** The network named by --net or --nb201 (errors name the flag or the file). */
export function networkOf(values: Pick<ValuesOf<typeof EXPORT_OPTIONS>, 'net' | 'nb201' | 'resolution' | 'channels' | 'cells-per-stage' | 'classes'>): ExportNetwork {
  if (values.nb201 !== undefined) {
    try {
      return nb201Network(values.nb201, { channels: values.channels, cellsPerStage: values['cells-per-stage'], numClasses: values.classes });
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
  try {
    return jsonNetwork(json, values.resolution, values.net);
  } catch (e) {
    const err = e as Error;
    if (err instanceof ExportError || err.message.includes(values.net)) throw err;
    throw new Error(`network file ${values.net}: ${err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
  }
}

async function exportCmd(values: ValuesOf<typeof EXPORT_OPTIONS>, { io }: RunContext): Promise<void> {
  const net = networkOf(values);
  const started = Date.now();
  const graph = exportGraph(net, { seed: values.seed, weights: values.weights, calibrationBatch: values['bn-batch'] });
  const bytes = toOnnx(graph, { producerVersion: packageVersion() });
  writeFileAtomic(values.out!, bytes);
  const params = [...graph.tensors.values()].reduce((s, t) => s + t.data.length, 0);
  io.out(
    `wrote ${values.out}: ONNX opset 13, ${graph.meta.network}; ${params} weights and statistics in ${graph.tensors.size} tensors, ` +
      `${(bytes.length / 2 ** 20).toFixed(2)} MiB, in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
      `  weights: ${graph.meta.init}\n  BN statistics: ${graph.meta['bn-statistics']}\n`,
  );
}

export const handlers = { export: exportCmd };
export const run = (argv: string[]) => runCommand(EXPORT, argv, selfResolve('export', handlers));
