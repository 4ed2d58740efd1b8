import { defineCommand, defineMode, inFile, int, oneOf, outFile, seed, text } from '../spec.js';

const nb201Only = {
  requires: ['nb201'],
  requiresWhy: '--channels and --cells-per-stage size an --nb201 network; give --nb201',
} as const;

export const EXPORT_OPTIONS = {
  format: oneOf(['onnx'], { help: 'file format (ONNX, opset 13)', default: 'onnx' }),
  out: outFile({ help: 'the model file to write', required: true }),
  net: inFile({
    help: "the network: a ProxylessNAS net.config (wgnas proxyless --out), the compact {inputSize, stem, blocks, featureMix, classes} form, a wgnas-arch JSON (an architecture of a cell space: wgnas search --space-file / proxyless --space-file --out), or a wgnas-nb201 JSON ({format: 'wgnas-nb201', arch, channels, cellsPerStage}: an NB201 network, as a search's --train-out network.json)",
    noun: 'network file',
    conflicts: ['nb201'],
    conflictsWhy: '--net and --nb201 name two networks: give one',
  }),
  nb201: text({ help: 'the network: a NAS-Bench-201 cell, |op~0|+|op~0|op~1|+|op~0|op~1|op~2|', metavar: 'ARCH' }),
  resolution: int({
    help: 'input size of a net.config or compact architecture',
    defaultText: "the net.config's resolution, else 224",
    min: 8,
    max: 4096,
    conflicts: ['nb201'],
    conflictsWhy: '--resolution sizes a --net network; an --nb201 network is 32x32: drop --resolution',
  }),
  channels: int({ help: 'NAS-Bench-201 stem width C', default: 16, min: 1, max: 1024, ...nb201Only }),
  'cells-per-stage': int({ help: 'NAS-Bench-201 cells per stage N', default: 5, min: 1, max: 32, ...nb201Only }),
  classes: int({
    help: 'classifier outputs: the class count of the dataset the weights were trained on (wgnas train --dataset)',
    defaultText: "10 for --nb201; the --net file's own",
    min: 1,
    max: 100_000,
  }),
  weights: inFile({
    help: "a weights file (NAME.json + NAME.bin, the networks' parameter names; see docs/cli.md) instead of seeded weights",
    noun: 'weights file',
  }),
  seed: seed(0, 'weight-initialisation and calibration seed'),
  'bn-batch': int({
    help: 'BN statistics = the batch statistics of this many seeded N(0,1) images (what the networks normalise with on that batch), unless --weights has running statistics',
    default: 8,
    min: 2,
    max: 1024,
  }),
};

export const EXPORT = defineCommand({
  name: 'export',
  summary: 'export a found network (NB201 cell, net.config, wgnas-arch) as an ONNX model',
  description:
    "Writes the network as an ONNX model (opset 13; input 'input' [N, 3, H, W], output 'logits') with the same weights the network has in wgnas: seeded as wgnas initialises it, or from --weights. BN is in inference form; its statistics are the weights file's running statistics, else the batch statistics of --bn-batch seeded images (the model then computes, on that batch, exactly what wgnas' forward computes); the model's metadata says which. Weights of wgnas train also give the model what it expects of its input and what its logits are (metadata wgnas.input-size, wgnas.input-mean and wgnas.input-std: per channel R, G, B, x = (pixel / 255 - mean) / std; wgnas.preprocessing in words; wgnas.class-names: a JSON list in logit order; wgnas.dataset). Weights file: NAME.json {format: 'wgnas-weights', version: 1, data: 'NAME.bin', bytes, sha256, network?, input?, tensors: [{name, shape, offset}]} and NAME.bin (little-endian f32, offsets in elements); BN running statistics as '<bn>.running_mean' / '<bn>.running_var'.",
  modes: [
    defineMode({
      id: 'export',
      module: 'export',
      label: 'wgnas export',
      usage: [
        '--format onnx --out FILE --net CONFIG.json [--weights W.json] [options]',
        '--format onnx --out FILE --nb201 ARCH [options]',
      ],
      options: EXPORT_OPTIONS,
    }),
  ],
});
