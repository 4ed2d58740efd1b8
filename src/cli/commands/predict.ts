/** wgnas predict: latency of a network from a lookup table (optionally vs a measured end-to-end run). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { loadNative, requireBackend, type BackendName } from '../../native/binding.js';
import { archToNativeOps, parseArch } from '../../latency/arch.js';
import { readLatencyTable } from '../../latency/lut.js';
import { predictLatency, type MissingPolicy } from '../../latency/predictor.js';

export const summary = 'predict a network latency from a lookup table';

const HELP = `usage: wgnas predict --table FILE --net CONFIG.json [options]

Sums the lookup-table latencies of a network's parts (Conv, MBConv blocks, Conv_1, Logits).
CONFIG is a ProxylessNAS net.config or a compact {inputSize, stem, blocks, featureMix, classes} JSON.

options:
  --table FILE        latency table (ProxylessNAS / OFA YAML)
  --net FILE          network config JSON
  --resolution N      input size for a net.config                              [224]
  --missing POLICY    key not in the table: error | nearest | scale            [error]
                      (nearest: closest channel counts with the same shape/op; scale: that times the MAC ratio)
  --field NAME        mean | median                                           [mean]
  --measure           also time the whole network end to end with the addon
  --threads N --repeats R --backend NAME   for --measure                      [1, 30, onednn]
  --json              machine-readable output
  -h, --help          this help
`;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      table: { type: 'string' },
      net: { type: 'string' },
      resolution: { type: 'string', default: '224' },
      missing: { type: 'string', default: 'error' },
      field: { type: 'string', default: 'mean' },
      measure: { type: 'boolean', default: false },
      threads: { type: 'string', default: '1' },
      repeats: { type: 'string', default: '30' },
      backend: { type: 'string', default: 'onednn' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!values.table || !values.net) throw new Error(`--table and --net are required\n\n${HELP}`);
  const missing = values.missing as MissingPolicy;
  if (!['error', 'nearest', 'scale'].includes(missing)) throw new Error(`--missing must be error, nearest or scale, got '${missing}'`);
  if (values.field !== 'mean' && values.field !== 'median') throw new Error(`--field must be mean or median, got '${values.field}'`);
  const resolution = Number(values.resolution);
  if (!Number.isInteger(resolution) || resolution < 8) throw new Error(`--resolution must be an integer >= 8, got '${values.resolution}'`);

  const table = readLatencyTable(values.table);
  let netText: string;
  try {
    netText = readFileSync(values.net, 'utf8');
  } catch (e) {
    throw new Error(`cannot read network config ${values.net}: ${(e as Error).message}`);
  }
  let netJson: unknown;
  try {
    netJson = JSON.parse(netText);
  } catch (e) {
    throw new Error(`${values.net} is not valid JSON: ${(e as Error).message}`);
  }
  const arch = parseArch(netJson, resolution);
  const pred = predictLatency(table, arch, { missing, field: values.field });

  let measured: { medianMs: number; meanMs: number; iqrMs: number; count: number; threads: number } | null = null;
  if (values.measure) {
    const native = loadNative();
    requireBackend(native, values.backend);
    const r = await native.profile(archToNativeOps(arch), {
      backend: values.backend as BackendName,
      threads: Number(values.threads),
      repeats: Number(values.repeats),
      warmup: 3,
    });
    measured = { medianMs: r.medianMs, meanMs: r.meanMs, iqrMs: r.iqrMs, count: r.count, threads: r.threads };
  }

  if (values.json) {
    process.stdout.write(JSON.stringify({ table: values.table, tableMeta: table.meta, net: values.net, ...pred, measured }, null, 2) + '\n');
    return;
  }
  const w = Math.max(...pred.parts.map((p) => p.name.length));
  for (const p of pred.parts) {
    const note = p.approx ? `  (~ ${p.approx.method} from ${p.approx.from}${p.approx.method === 'scale' ? ` x${p.approx.factor.toFixed(3)}` : ''})` : '';
    process.stdout.write(`${p.name.padEnd(w)}  ${p.ms.toFixed(3).padStart(9)} ms  ${p.key}${note}\n`);
  }
  process.stdout.write(`${'total'.padEnd(w)}  ${pred.totalMs.toFixed(3).padStart(9)} ms  predicted (${values.field}, ${pred.parts.length} parts)\n`);
  if (pred.approximated.length > 0) {
    process.stdout.write(`note: ${pred.approximated.length} part(s) not in the table were approximated (--missing ${missing})\n`);
  }
  if (measured) {
    const err = ((pred.totalMs - measured.medianMs) / measured.medianMs) * 100;
    process.stdout.write(
      `measured ${measured.medianMs.toFixed(3)} ms median (IQR ${measured.iqrMs.toFixed(3)}, n=${measured.count}, ` +
        `${measured.threads} thread(s)); prediction error ${err >= 0 ? '+' : ''}${err.toFixed(1)}%\n`,
    );
  }
}
