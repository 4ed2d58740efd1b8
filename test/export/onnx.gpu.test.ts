/**
 * `wgnas export --format onnx`: the exported file runs in onnxruntime-node and gives the logits of
 * wgnas' own forward pass (the GPU networks on lavapipe, BN on batch statistics) on the same input,
 * the calibration batch whose statistics the export puts into BN: NAS-Bench-201 cells (convs, pools,
 * skips, a cell whose output gets nothing), net.configs of the CIFAR layout (zero blocks included)
 * and of a published ProxylessNAS net (a layout of its own), a wgnas-arch of cells with summed inputs
 * and outputs. Weights files: read by name with their BN running statistics (ONNX vs the TypeScript
 * reference), refused in one line when they do not fit. The BN eps: a net.config's bn.eps in every
 * BatchNormalization. Also `predict --measure --runtime onnxruntime`.
 * The GPU comparisons skip locally without an adapter and fail under CI=true.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  calibrationInput,
  describeNetwork,
  exportGraph,
  jsonNetwork,
  nb201Network,
  type ExportNetwork,
} from '../../src/export/index.js';
import { seededParams } from '../../src/export/networks.js';
import { toOnnx } from '../../src/export/onnx.js';
import { runOnnx } from '../../src/export/onnxruntime.js';
import { referenceForward } from '../../src/export/reference.js';
import { readWeights, writeWeights } from '../../src/export/weights.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { randomCell } from '../../src/mobilenet/cell-mutation.js';
import { formatCell } from '../../src/mobilenet/cell-text.js';
import { FixedNet } from '../../src/mobilenet/fixed-net.js';
import { CIFAR_LAYOUT, layerShapes } from '../../src/mobilenet/layout.js';
import { Nb201Net } from '../../src/nn/nb201-net.js';
import { Tape } from '../../src/nn/tape.js';
import { toNetConfig } from '../../src/proxyless/net-config.js';
import { Rng } from '../../src/util/rng.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { onGpu } from '../helpers/backend.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});
afterAll(() => gpu?.destroy());

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-export-'));
const SHARED = new URL('../../data/latency/', import.meta.url);
const BATCH = 4;

/** |a - b| <= 1e-4 of the largest |b| (+1e-6) everywhere. */
function expectLogitsClose(a: Float32Array, b: Float32Array, label: string): void {
  expect(a.length, label).toBe(b.length);
  const scale = Math.max(...Array.from(b, Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst, `${label}: max |onnx - ours| ${worst} vs logits up to ${scale}`).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
  expect(scale, label).toBeGreaterThan(0);
}

/** Our forward on the GPU (the network built with the export's seed; BN on the batch's statistics). */
async function gpuLogits(gpu: Gpu, net: ExportNetwork, seed: number, x: Float32Array): Promise<Float32Array> {
  const g = onGpu(gpu);
  const s = net.kind === 'nb201' ? net.inputHW : net.layout.inputSize;
  const model =
    net.kind === 'nb201'
      ? new Nb201Net(g, net.cell, net.cfg, new Rng(seed), net.inputHW)
      : new FixedNet(g, net.layout, net.cells, net.choices, new Rng(seed), 'pytorch', net.bnEps);
  const t = new Tape(g, { noGrad: true });
  const xt = g.upload(x, [x.length / (3 * s * s), 3, s, s]);
  try {
    return await model.forward(t, t.input(xt)).logits.value.read();
  } finally {
    t.dispose();
    xt.dispose();
    model.dispose();
  }
}

/** Exports with calibration, runs the ONNX file in onnxruntime on the calibration batch, compares with the GPU. */
async function checkAgainstGpu(net: ExportNetwork, seed: number, label: string): Promise<void> {
  const graph = exportGraph(net, { seed, calibrationBatch: BATCH });
  const s = net.kind === 'nb201' ? net.inputHW : net.layout.inputSize;
  const x = calibrationInput(net, BATCH, seed);
  const onnx = await runOnnx(toOnnx(graph), x, [BATCH, 3, s, s]);
  expectLogitsClose(onnx, await gpuLogits(gpu!, net, seed, x), label);
}

describe('ONNX export vs our forward (GPU)', () => {
  it('NAS-Bench-201 cells', async ({ skip }) => {
    if (!gpu) return skip();
    const cells = [
      '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
      '|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|',
      // Node 3 receives nothing: the cell outputs zeros.
      '|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|none~2|',
      // Node 1 receives nothing: its 3x3 conv out runs on zeros (the trained network's BN beta; 0 here).
      '|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|',
    ];
    for (const [i, c] of cells.entries()) await checkAgainstGpu(nb201Network(c, { cellsPerStage: i === 0 ? 5 : 1 }), 10 + i, c);
  });

  it("NAS-Bench-201 edges out of an unfed node: the export follows cfg.unfedEdges ('zeros': BN beta, 'skip': nothing)", async ({
    skip,
  }) => {
    if (!gpu) return skip();
    // Node 1 gets nothing; its 3x3 conv into node 2 adds its BN's beta under 'zeros', nothing under 'skip'.
    const arch = '|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|';
    const seed = 7;
    const onnxOf: Record<string, Float32Array> = {};
    for (const unfedEdges of ['zeros', 'skip'] as const) {
      const net = nb201Network(arch, { cellsPerStage: 1, unfedEdges });
      if (net.kind !== 'nb201') throw new Error('an nb201 network');
      // Nonzero betas (seeded ones are 0, where the two settings agree); BN from the calibration batch.
      const params = seededParams(net, seed);
      const rng = new Rng(3);
      for (const [name, t] of params) if (name.endsWith('.beta')) t.data.set(rng.normals(t.data.length));
      const path = join(tmp, `unfed-${unfedEdges}.json`);
      writeWeights(path, params, describeNetwork(net));
      const graph = exportGraph(net, { weights: path, seed, calibrationBatch: BATCH });
      const x = calibrationInput(net, BATCH, seed);
      onnxOf[unfedEdges] = await runOnnx(toOnnx(graph), x, [BATCH, 3, 32, 32]);
      const g = onGpu(gpu);
      const model = new Nb201Net(g, net.cell, net.cfg, new Rng(0), net.inputHW);
      const t = new Tape(g, { noGrad: true });
      const xt = g.upload(x, [BATCH, 3, 32, 32]);
      try {
        for (const p of model.params) g.write(p.value, params.get(p.name)!.data);
        expectLogitsClose(onnxOf[unfedEdges], await model.forward(t, t.input(xt)).logits.value.read(), unfedEdges);
      } finally {
        t.dispose();
        xt.dispose();
        model.dispose();
      }
    }
    const diff = Math.max(...onnxOf.zeros.map((v, i) => Math.abs(v - onnxOf.skip[i])));
    expect(diff, 'the two settings compute different networks here').toBeGreaterThan(1e-3);
  });

  it('net.configs: the CIFAR layout (zero blocks included) and a published ProxylessNAS net', async ({ skip }) => {
    if (!gpu) return skip();
    const shapes = layerShapes(CIFAR_LAYOUT);
    // The last candidate is 'zero' where a layer has one.
    const choices = shapes.map((s, b) => (s.stride === 1 && s.inC === s.outC && b % 2 ? 6 : (b * 5) % 6));
    expect(choices).toContain(6);
    await checkAgainstGpu(jsonNetwork(toNetConfig(CIFAR_LAYOUT, choices), 32), 3, 'cifar net.config');
    const gpuNet = JSON.parse(readFileSync(new URL('proxylessnas_proxyless_gpu.config', SHARED), 'utf8'));
    // At 64x64 its last stage is 2x2 (at 32x32, 1x1: BN over 4 values per channel is ill-conditioned in f32).
    const net = jsonNetwork(gpuNet, 64);
    expect(net.kind === 'mobilenet' && net.layout.name).toBe('net');
    await checkAgainstGpu(net, 4, 'proxyless_gpu net.config at 64x64');
  });

  it('a wgnas-arch of cells with summed inputs and several outputs', async ({ skip }) => {
    if (!gpu) return skip();
    // Stride 2: two depthwise branches summed into the projection; stride 1: two outputs summed;
    // and a full 3x3 conv cell.
    const texts: string[] = layerShapes(CIFAR_LAYOUT).map((shape, b) =>
      b === 4 ? 'c3e1<0;pwl<1;=>2' : shape.stride === 2 ? 'pw3<0;dw3<1;dw5<1;pwl<2,3;=>4' : 'pw3<0;dw7<1;pwl<2;pwl<0;=>3+4',
    );
    const rng = new Rng(7);
    texts[6] = formatCell(randomCell(layerShapes(CIFAR_LAYOUT)[6], rng));
    const arch = { format: 'wgnas-arch', version: 1, layout: 'cifar', choices: texts.map(() => 0), cells: texts };
    await checkAgainstGpu(jsonNetwork(arch), 5, 'wgnas-arch');
  });
});

describe('BN eps', () => {
  /** The epsilons of the model's BatchNormalization nodes (distinct) and its metadata's. */
  const epsOf = (net: ExportNetwork) => {
    const model = onnxProto.onnx.ModelProto.decode(toOnnx(exportGraph(net, { noCalibration: true })));
    const nodes = (model.graph?.node ?? []).filter((n) => n.opType === 'BatchNormalization');
    expect(nodes.length).toBeGreaterThan(0);
    const eps = new Set(nodes.map((n) => n.attribute?.find((a) => a.name === 'epsilon')?.f));
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
    return { eps: [...eps], meta: meta['wgnas.bn-epsilon'] };
  };

  it("is a net.config's bn.eps (else ProxylessNAS's 1e-3) in every BatchNormalization and the metadata", () => {
    const cfg = toNetConfig(
      CIFAR_LAYOUT,
      layerShapes(CIFAR_LAYOUT).map(() => 0),
    );
    // toNetConfig's default eps is 1e-5 (a search passes its supernet's, the authors' 1e-3 by default).
    expect(epsOf(jsonNetwork(cfg, 32))).toEqual({ eps: [Math.fround(1e-5)], meta: '0.00001' });
    const at3 = jsonNetwork({ ...cfg, bn: { momentum: 0.1, eps: 1e-3 } }, 32);
    expect(epsOf(at3)).toEqual({ eps: [Math.fround(1e-3)], meta: '0.001' });
    expect(describeNetwork(at3)).toMatch(/, BN eps 0\.001$/);
    expect(describeNetwork(jsonNetwork(cfg, 32))).not.toMatch(/eps/);
    const { bn: _, ...noBn } = cfg;
    expect(epsOf(jsonNetwork(noBn, 32)).eps).toEqual([Math.fround(1e-3)]);
    const published = JSON.parse(readFileSync(new URL('proxylessnas_proxyless_mobile.config', SHARED), 'utf8'));
    expect(epsOf(jsonNetwork(published, 32)).eps).toEqual([Math.fround(1e-3)]);
    expect(epsOf(nb201Network('|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|', { cellsPerStage: 1 }))).toEqual({
      eps: [Math.fround(1e-5)],
      meta: '0.00001',
    });
    for (const bn of [{ eps: 1e-3 }, { momentum: 0.1, eps: 0 }, { momentum: 2, eps: 1e-3 }, 'x'])
      expect(() => jsonNetwork({ ...cfg, bn }, 32, 'c.config')).toThrow(/^c\.config: 'bn' must be \{momentum, eps\}/);
  });
});

describe('weights files', () => {
  const net = nb201Network('|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|', {
    cellsPerStage: 1,
  });

  it('are read by name with their running statistics; the ONNX model computes what the reference does', async () => {
    const params = seededParams(net, 99);
    const graph0 = exportGraph(net, { seed: 99, calibrationBatch: 2 });
    for (const [name, t] of graph0.tensors)
      if (name.endsWith('.running_mean') || name.endsWith('.running_var'))
        params.set(name, { shape: t.shape, data: t.data.map((v, i) => v * 1.5 + (i % 3) * 0.01) });
    const path = join(tmp, 'w.json');
    writeWeights(path, params, describeNetwork(net));
    expect(readWeights(path).tensors.size).toBe(params.size);
    const graph = exportGraph(net, { weights: path });
    expect(graph.meta['bn-statistics']).toBe('running statistics from the weights file');
    expect(graph.meta.init).toMatch(/^weights file .*w\.json \(sha256 [0-9a-f]{16}\)$/);
    const x = new Rng(1).normals(2 * 3 * 32 * 32);
    const onnx = await runOnnx(toOnnx(graph), x, [2, 3, 32, 32]);
    expectLogitsClose(onnx, referenceForward(graph, x), 'weights file');
    const other = await runOnnx(toOnnx(graph0), x, [2, 3, 32, 32]);
    expect(Math.max(...onnx.map((v, i) => Math.abs(v - other[i])))).toBeGreaterThan(1e-3);
  });

  it('that do not fit are refused naming the tensor or the file', () => {
    const params = seededParams(net, 1);
    const partial = new Map(params);
    partial.set('stem.bn.running_mean', { shape: [16], data: new Float32Array(16) });
    partial.set('stem.bn.running_var', { shape: [16], data: new Float32Array(16).fill(1) });
    writeWeights(join(tmp, 'partial.json'), partial);
    expect(() => exportGraph(net, { weights: join(tmp, 'partial.json') })).toThrow(
      /BN running statistics for 1 of \d+ BN layers, none for 's0\.c0\.e0\.bn' \(all or none\)/,
    );
    const missing = new Map(params);
    missing.delete('classifier.w');
    writeWeights(join(tmp, 'missing.json'), missing);
    expect(() => exportGraph(net, { weights: join(tmp, 'missing.json') })).toThrow(/missing\.json has no tensor 'classifier\.w'/);
    const wrong = new Map(params);
    wrong.set('stem.conv', { shape: [16, 3, 1, 1], data: new Float32Array(48) });
    writeWeights(join(tmp, 'wrong.json'), wrong);
    expect(() => exportGraph(net, { weights: join(tmp, 'wrong.json') })).toThrow(
      /tensor 'stem\.conv' is \[16, 3, 1, 1\], the network needs \[16, 3, 3, 3\]/,
    );
    writeFileSync(join(tmp, 'wrong.bin'), 'torn');
    expect(() => readWeights(join(tmp, 'wrong.json'))).toThrow(/wrong\.bin does not match .*wrong\.json/);
  });
});

describe('CLI', () => {
  it('export writes a model onnxruntime runs, with its provenance; bad input gets one line', async () => {
    const out = join(tmp, 'nb201.onnx');
    const arch = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
    const r = await wgnasInProcess([
      'export',
      '--format',
      'onnx',
      '--nb201',
      arch,
      '--cells-per-stage',
      '1',
      '--bn-batch',
      '2',
      '--out',
      out,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote .*nb201\.onnx: ONNX opset 13, NAS-Bench-201/);
    const bytes = new Uint8Array(readFileSync(out));
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
    expect(meta['wgnas.bn-statistics']).toMatch(
      /^batch statistics of 2 N\(0,1\) images of 3x32x32 \(seed 1, the weight seed 0 \+ 1\)/,
    );
    expect((model.graph?.initializer ?? []).find((t) => t.name === 'stem.conv')?.dims?.map(Number)).toEqual([16, 3, 3, 3]);
    const net = nb201Network(arch, { cellsPerStage: 1 });
    const x = calibrationInput(net, 2, 0);
    expectLogitsClose(
      await runOnnx(bytes, x, [2, 3, 32, 32]),
      referenceForward(exportGraph(net, { calibrationBatch: 2 }), x),
      'cli',
    );

    const bad = async (args: string[], code: number, pattern: RegExp) => {
      const b = await wgnasInProcess(['export', '--out', join(tmp, 'bad.onnx'), ...args]);
      expect(b.err).toMatch(pattern);
      expect(b.err.trim().split('\n')).toHaveLength(1);
      expect(b.code).toBe(code);
    };
    await bad(['--nb201', '|bogus~0|'], 2, /^wgnas export: --nb201: parseArch/);
    await bad([], 2, /give the network: --net CONFIG\.json or --nb201 ARCH/);
    await bad(['--nb201', arch, '--net', out], 2, /--net and --nb201 name two networks/);
    await bad(['--net', join(tmp, 'none.json')], 2, /none\.json/);
    writeFileSync(
      join(tmp, 'arch.json'),
      JSON.stringify({ format: 'wgnas-arch', version: 1, layout: 'cifar', choices: [0], cells: ['zero'] }),
    );
    await bad(['--net', join(tmp, 'arch.json')], 1, /arch\.json: 'cells' must list 11 cells \(layout cifar\)/);
    await bad(
      ['--nb201', arch, '--cells-per-stage', '1', '--weights', join(tmp, 'missing.json')],
      1,
      /missing\.json has no tensor 'classifier\.w'/,
    );
  });

  it('predict --measure --runtime onnxruntime times the exported network next to the prediction', async () => {
    const netFile = join(tmp, 'cifar.config');
    writeFileSync(
      netFile,
      JSON.stringify(
        toNetConfig(
          CIFAR_LAYOUT,
          layerShapes(CIFAR_LAYOUT).map(() => 0),
        ),
      ),
    );
    const table = join(tmp, 'table.yaml');
    const keys = (await import('../../src/latency/arch.js')).netConfigToKeys(JSON.parse(readFileSync(netFile, 'utf8')), 32);
    writeFileSync(table, `# cpu: test\n${keys.map((k) => `${k}:\n  count: 1\n  mean: 0.1\n`).join('')}`);
    const r = await wgnasInProcess([
      'predict',
      '--table',
      table,
      '--net',
      netFile,
      '--resolution',
      '32',
      '--measure',
      '--runtime',
      'onnxruntime',
      '--repeats',
      '3',
      '--json',
    ]);
    expect(r.err).toBe('');
    const j = JSON.parse(r.out) as { totalMs: number; measured: { runtime: string; medianMs: number; count: number } };
    expect(j.totalMs).toBeCloseTo(0.1 * keys.length, 9);
    expect(j.measured.runtime).toMatch(/^onnxruntime-node \d+\.\d+\.\d+ \(CPU\)$/);
    expect(j.measured.count).toBe(3);
    expect(j.measured.medianMs).toBeGreaterThan(0);
    const bad = await wgnasInProcess(['predict', '--table', table, '--net', netFile, '--runtime', 'onnxruntime']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/give --measure/);
  });
});
