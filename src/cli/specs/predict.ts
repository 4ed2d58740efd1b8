import { defineCommand, defineMode, flag, inFile, int, oneOf } from '../spec.js';
import { backend, json, threads } from './common.js';

const measureOnly = {
  requires: ['measure'],
  requiresWhy: '--runtime, --threads, --repeats and --backend set up --measure; give --measure',
};

export const PREDICT_OPTIONS = {
  table: inFile({
    help: 'latency table in the ProxylessNAS YAML format (docs/latency-tables.md): MobileNetV2 blocks or cell nodes; Once-for-All MobileNetV3 tables are refused',
    noun: 'latency table',
    required: true,
  }),
  net: inFile({
    help: "network JSON: a ProxylessNAS net.config, a compact {inputSize, stem, blocks, featureMix, classes}, or a wgnas-arch (proxyless/search --space-file), priced by its MBConv blocks or, against a table of cell nodes, by its cells' nodes",
    noun: 'network config',
    required: true,
  }),
  resolution: int({
    help: "input size for a net.config (default: the config's recorded resolution, else 224)",
    min: 8,
    max: 4096,
  }),
  'imagenet-twin': flag({
    help: "price a CIFAR-layout net.config (wgnas proxyless's) as its ImageNet-layout twin: its choices at the same stage/block positions of the 224x224 ImageNet network, with that network's stem, first block, Conv_1 and 1000-class Logits, as wgnas proxyless prices the CIFAR layout with a 224x224 table",
  }),
  missing: oneOf(['error', 'nearest', 'scale'], {
    help: 'a key not in the table: error, nearest (closest channel counts with the same shape/op; for Logits the closest class count) or scale (that times the MAC ratio; for Logits pooling h*w*c plus in*out features)',
    metavar: 'POLICY',
    default: 'error',
  }),
  field: oneOf(['mean', 'median'], {
    help: 'table statistic to sum (median: every entry needs one, as wgnas profile tables have; the published tables have means only)',
    default: 'mean',
  }),
  measure: flag({ help: 'also time the whole network end to end (--runtime)' }),
  runtime: oneOf(['native', 'onnxruntime'], {
    help: "what --measure runs: native (the network as one op chain in the addon's library) or onnxruntime (the network exported to ONNX, seeded weights, in onnxruntime-node on the CPU)",
    default: 'native',
    ...measureOnly,
  }),
  threads: { ...threads, help: 'library threads for --measure', ...measureOnly },
  repeats: int({ help: 'timed runs for --measure', metavar: 'R', default: 30, min: 1, max: 100_000, ...measureOnly }),
  backend: {
    ...backend,
    help: 'library for --measure --runtime native',
    ...measureOnly,
    appliesWhen: { option: 'runtime', values: ['native'] },
  },
  json: { ...json, help: 'machine-readable output' },
};

export const PREDICT = defineCommand({
  name: 'predict',
  summary: 'predict a network latency from a lookup table (optionally against a measured run)',
  description:
    "Sums the lookup-table latencies of a network's parts (Conv, MBConv blocks or cell nodes, Conv_1, Logits), with a per-part breakdown. With --measure, the run's statistic compared is --field's (mean against mean, median against median).",
  modes: [
    defineMode({
      id: 'predict',
      module: 'predict',
      label: 'wgnas predict',
      usage: ['--table FILE --net CONFIG.json [options]'],
      options: PREDICT_OPTIONS,
    }),
  ],
});
