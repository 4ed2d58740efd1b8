/** wgnas export: a found network as an ONNX model. */
import { exportGraph } from '../../export/index.js';
import { toOnnx } from '../../export/onnx.js';
import { writeFileAtomic } from '../../util/durable.js';
import { networkOf } from '../network.js';
import { packageVersion, runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { EXPORT, type EXPORT_OPTIONS } from '../specs/export.js';

export const summary = EXPORT.summary;

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
