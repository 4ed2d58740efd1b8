/**
 * `wgnas export` on the CPU (no adapter, no onnxruntime): a net.config is exported at the resolution
 * it records (as train and predict read it), weights trained for another network or class count are
 * refused in one line (the class count naming --classes, which --net takes too), --resolution with
 * --nb201 is refused by export and train, and an unrecognised --net file lists every form --net takes.
 * A net.config's malformed 'bn' is refused in one line; weights made at another BN eps are refused.
 * A wgnas-arch's 'bn' round-trips (older files without it stay at 1e-5), a malformed one is refused
 * in one line naming the file, and its eps reaches the trained network and the exported model.
 * A wgnas-nb201 file is the --nb201 network it names. The train -> export hand-over of a MobileNet
 * on a 3-class folder runs end to end.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeNetwork, jsonNetwork, nb201Network, nb201NetworkText } from '../../src/export/index.js';
import { seededParams } from '../../src/export/networks.js';
import { writeWeights } from '../../src/export/weights.js';
import { CIFAR_LAYOUT, layerShapes } from '../../src/mobilenet/layout.js';
import { archJson, spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { toNetConfig } from '../../src/proxyless/net-config.js';
import { buildNetwork, withClasses } from '../../src/train/network.js';
import type { FixedNet } from '../../src/mobilenet/fixed-net.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TABLE, wgnasInProcess } from '../helpers/cli.js';
import { colourOf, writeImageFolder } from '../helpers/datasets.js';

const ARCH = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-export-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The CIFAR layout's net.config (32x32, recorded as its resolution), every block its first candidate. */
const config = join(tmp, 'cifar.config');
beforeAll(() => {
  writeFileSync(
    config,
    JSON.stringify(
      toNetConfig(
        CIFAR_LAYOUT,
        layerShapes(CIFAR_LAYOUT).map(() => 0),
      ),
    ),
  );
});

/** The wgnas.* metadata of an ONNX file. */
function onnxMeta(path: string): Record<string, string> {
  const model = onnxProto.onnx.ModelProto.decode(new Uint8Array(readFileSync(path)));
  return Object.fromEntries(model.metadataProps.map((p) => [p.key!, p.value!]));
}

const exportArgs = (...args: string[]) => wgnasInProcess(['export', '--out', join(tmp, 'm.onnx'), '--bn-batch', '2', ...args]);

/** One line on stderr, the exit code, nothing written. */
function refused(r: { code: number; err: string }, code: number, pattern: RegExp): void {
  expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
  expect(r.err).toMatch(pattern);
  expect(r.code).toBe(code);
}

describe('wgnas export --seed', () => {
  it('--seed 0 seeds the weights with 0 (a falsy seed is not replaced), the calibration images with 0 + 1', async () => {
    for (const seed of [0, 5]) {
      const r = await exportArgs('--nb201', ARCH, '--cells-per-stage', '1', '--seed', String(seed));
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(new RegExp(`weights: seeded: .*, seed ${seed}\\n`));
      expect(r.out).toContain(`(seed ${seed + 1}, the weight seed ${seed} + 1)`);
    }
  });
});

describe('wgnas export --net', () => {
  it('exports a net.config at its recorded resolution (not 224), as train and predict read it', async () => {
    expect(JSON.parse(readFileSync(config, 'utf8')).resolution).toBe(32);
    const r = await exportArgs('--net', config);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/ProxylessNAS MobileNet, layout cifar, 32x32, /);
    expect(r.out).toMatch(/images of 3x32x32/);
    // --resolution still sizes it when given.
    const big = await exportArgs('--net', config, '--resolution', '64');
    expect(big.code, big.err).toBe(0);
    expect(big.out).toMatch(/, 64x64, /);
  });

  it('refuses weights of another network (another resolution) or another class count, naming --classes', async () => {
    const net = jsonNetwork(JSON.parse(readFileSync(config, 'utf8')));
    const three = withClasses(net, 3);
    const w3 = join(tmp, 'w3.json');
    writeWeights(w3, seededParams(three, 1), describeNetwork(three));
    refused(
      await exportArgs('--net', config, '--weights', w3),
      1,
      /w3\.json: its classifier has 3 outputs, the network exported 10 \(trained on a 3-class dataset\? export with --classes 3\)/,
    );
    const ok = await exportArgs('--net', config, '--weights', w3, '--classes', '3');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/weights: weights file w3\.json/);
    // A malformed 'input' record (what the network expects) is refused naming the file and the field.
    const badInput = join(tmp, 'w3-input.json');
    const input = { layout: 'NCHW', channels: 'RGB', size: 32, resize: 'as is', mean: [0.5, 0.5], std: [1, 1, 1] };
    writeWeights(badInput, seededParams(three, 1), describeNetwork(three), {
      ...input,
      classNames: ['a', 'b', 'c'],
      dataset: 'x',
    } as unknown as Parameters<typeof writeWeights>[3]);
    refused(
      await exportArgs('--net', config, '--weights', badInput, '--classes', '3'),
      1,
      /w3-input\.json: 'input' mean and std must be 3 numbers each \(R, G, B\), std > 0$/m,
    );
    // Every tensor fits at 64x64 too: the network the file records tells them apart.
    refused(
      await exportArgs('--net', config, '--weights', w3, '--classes', '3', '--resolution', '64'),
      1,
      /w3\.json holds the weights of ProxylessNAS MobileNet, layout cifar, 32x32, 12 blocks, not of the network exported: .*64x64/,
    );
    // NB201: the class count in the recorded network too; --classes fixes it.
    const nb = nb201Network(ARCH, { cellsPerStage: 1, numClasses: 4 });
    const w4 = join(tmp, 'w4.json');
    writeWeights(w4, seededParams(nb, 1), describeNetwork(nb));
    refused(
      await exportArgs('--nb201', ARCH, '--cells-per-stage', '1', '--weights', w4),
      1,
      /w4\.json: its classifier has 4 outputs, the network exported 10 .*--classes 4/,
    );
    refused(
      await exportArgs('--nb201', ARCH, '--cells-per-stage', '2', '--classes', '4', '--weights', w4),
      1,
      /w4\.json holds the weights of NAS-Bench-201 .*N=1, 4 classes.*, not of the network exported: .*N=2, 4 classes/,
    );
    const nbOk = await exportArgs('--nb201', ARCH, '--cells-per-stage', '1', '--classes', '4', '--weights', w4);
    expect(nbOk.code, nbOk.err).toBe(0);
  });

  it('--resolution with --nb201 is refused by export and train; a cell network keeps its layout size', async () => {
    refused(await exportArgs('--nb201', ARCH, '--resolution', '64'), 2, /^wgnas export: --resolution .*--nb201 network is 32x32/);
    refused(
      await wgnasInProcess(['train', '--nb201', ARCH, '--resolution', '64', '--out', join(tmp, 'tr-bad')]),
      2,
      /^wgnas train: --resolution .*--nb201 network is 32x32/,
    );
    const arch = join(tmp, 'arch.json');
    writeFileSync(
      arch,
      JSON.stringify(
        archJson(
          spaceFromLayout(CIFAR_LAYOUT),
          layerShapes(CIFAR_LAYOUT).map(() => 0),
        ),
      ),
    );
    const same = await exportArgs('--net', arch, '--resolution', '32');
    expect(same.code, same.err).toBe(0);
    refused(
      await exportArgs('--net', arch, '--resolution', '64'),
      2,
      /^wgnas export: --resolution 64: .*arch\.json is a wgnas-arch network of layout cifar, 32x32; drop --resolution/,
    );
  });

  it("a net.config's bn: a malformed one refused in one line; weights made at another eps refused by name", async () => {
    const cfg = JSON.parse(readFileSync(config, 'utf8'));
    const data = join(tmp, 'bn-data');
    await writeImageFolder(join(data, 'train'), [2, 2], { format: 'png' });
    await writeImageFolder(join(data, 'test'), [1, 1], { format: 'png' });
    const bad = join(tmp, 'bad-bn.config');
    writeFileSync(bad, JSON.stringify({ ...cfg, bn: { momentum: 0.1, eps: -1 } }));
    refused(
      await exportArgs('--net', bad),
      1,
      /bad-bn\.config: 'bn' must be \{momentum, eps\} .*got \{"momentum":0\.1,"eps":-1\}/,
    );
    refused(
      await wgnasInProcess(['train', '--net', bad, '--dataset', `folder:${data}`, '--out', join(tmp, 'bad-bn')]),
      1,
      /bad-bn\.config: 'bn' must be/,
    );
    // The same layers at eps 1e-3: weights of the 1e-5 network are not its weights.
    const at3 = join(tmp, 'eps3.config');
    writeFileSync(at3, JSON.stringify({ ...cfg, bn: { momentum: 0.1, eps: 1e-3 } }));
    const net = jsonNetwork(cfg);
    const weights = join(tmp, 'eps5-weights.json');
    writeWeights(weights, seededParams(net, 0), describeNetwork(net));
    expect((await exportArgs('--net', config, '--weights', weights)).code).toBe(0);
    refused(
      await exportArgs('--net', at3, '--weights', weights),
      1,
      /holds the weights of .*32x32, \d+ blocks, not of .*, BN eps 0\.001\n?$/,
    );
  });

  /** The CIFAR layout's cells, every layer its first (a wgnas-arch as the searches write it). */
  const cifarArch = (bn?: { eps: number; momentum: number }) =>
    archJson(
      spaceFromLayout(CIFAR_LAYOUT),
      layerShapes(CIFAR_LAYOUT).map(() => 0),
      bn,
    );

  it("a wgnas-arch's bn: written and read back; without it 1e-5; a malformed one refused in one line naming the file", async () => {
    const at3 = cifarArch({ eps: 1e-3, momentum: 0.2 });
    expect(at3.bn).toEqual({ momentum: 0.2, eps: 1e-3 });
    const file = join(tmp, 'arch-eps3.json');
    writeFileSync(file, JSON.stringify(at3));
    const back = jsonNetwork(JSON.parse(readFileSync(file, 'utf8')), undefined, file);
    expect(back).toMatchObject({ kind: 'mobilenet', bnEps: 1e-3, bnMomentum: 0.2 });
    expect(describeNetwork(back)).toMatch(/^MobileNet cell network, layout cifar .*, BN eps 0\.001$/);
    // The searches' default: wgnas's BN, said in the file, the network named as before.
    const dflt = cifarArch();
    expect(dflt.bn).toEqual({ momentum: 0.1, eps: 1e-5 });
    const { bn: _, ...old } = dflt;
    const oldNet = jsonNetwork(old);
    expect(oldNet).toMatchObject({ bnEps: 1e-5 });
    expect(oldNet.kind === 'mobilenet' && oldNet.bnMomentum).toBeUndefined();
    expect(jsonNetwork(dflt)).toMatchObject({ bnEps: 1e-5, bnMomentum: 0.1 });
    expect(describeNetwork(jsonNetwork(dflt))).toBe(describeNetwork(oldNet));
    expect(describeNetwork(oldNet)).not.toMatch(/eps/);
    for (const bn of [
      { eps: 1e-3 },
      { momentum: 0.1, eps: 0 },
      { momentum: 0.1, eps: -1e-3 },
      { momentum: 1.5, eps: 1e-3 },
      { momentum: 0, eps: 1e-3 },
      { momentum: 0.1, eps: '1e-3' },
      null,
      'x',
    ])
      expect(() => jsonNetwork({ ...dflt, bn }, undefined, 'a.json'), JSON.stringify(bn)).toThrow(
        /^a\.json: 'bn' must be \{momentum, eps\} with momentum in \(0, 1\] and eps > 0 \(without it: \{"momentum":0\.1,"eps":0\.00001\}\), got /,
      );
    const data = join(tmp, 'bn-arch-data');
    await writeImageFolder(join(data, 'train'), [2, 2], { format: 'png' });
    await writeImageFolder(join(data, 'test'), [1, 1], { format: 'png' });
    const bad = join(tmp, 'bad-bn-arch.json');
    writeFileSync(bad, JSON.stringify({ ...dflt, bn: { momentum: 0.1, eps: -1 } }));
    refused(
      await exportArgs('--net', bad),
      1,
      /bad-bn-arch\.json: 'bn' must be \{momentum, eps\} .*got \{"momentum":0\.1,"eps":-1\}/,
    );
    refused(
      await wgnasInProcess(['train', '--net', bad, '--dataset', `folder:${data}`, '--out', join(tmp, 'bad-bn-arch')]),
      1,
      /bad-bn-arch\.json: 'bn' must be/,
    );
  });

  it.skipIf(cpuTestBackend() === null)(
    "a wgnas-arch at eps 1e-3 trains and exports at it: the network's BNs, the report, every BatchNormalization",
    { timeout: 120_000 },
    async () => {
      const arch = join(tmp, 'arch-train-eps3.json');
      writeFileSync(arch, JSON.stringify(cifarArch({ eps: 1e-3, momentum: 0.2 })));
      const net = withClasses(jsonNetwork(JSON.parse(readFileSync(arch, 'utf8'))), 3);
      const built = buildNetwork(cpuTestBackend()!, net, 0) as FixedNet;
      try {
        expect(built.bnEps).toBe(1e-3);
      } finally {
        built.dispose();
      }
      const data = join(tmp, 'three-eps');
      await writeImageFolder(join(data, 'train'), [4, 4, 4], { format: 'png' });
      await writeImageFolder(join(data, 'test'), [2, 2, 2], { format: 'png' });
      const out = join(tmp, 'trained-eps3');
      const t = await wgnasInProcess([
        ...['train', '--net', arch, '--dataset', `folder:${data}`, '--epochs', '1', '--batch', '4'],
        ...['--device', 'cpu', '--cpu-threads', '1', '--latency-runs', '0', '--quiet', '--out', out],
      ]);
      expect(t.code, t.err).toBe(0);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.network).toMatch(/^MobileNet cell network, layout cifar .*, BN eps 0\.001$/);
      expect(report.settings['bn-momentum']).toBe(0.2);
      const onnx = join(tmp, 'arch-eps3.onnx');
      const e = await wgnasInProcess([
        'export',
        '--net',
        arch,
        '--classes',
        '3',
        '--weights',
        join(out, 'weights.json'),
        '--out',
        onnx,
      ]);
      expect(e.code, e.err).toBe(0);
      const model = onnxProto.onnx.ModelProto.decode(new Uint8Array(readFileSync(onnx)));
      const bns = (model.graph?.node ?? []).filter((n) => n.opType === 'BatchNormalization');
      expect(bns.length).toBeGreaterThan(0);
      expect(new Set(bns.map((n) => n.attribute?.find((a) => a.name === 'epsilon')?.f))).toEqual(new Set([Math.fround(1e-3)]));
      const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
      expect(meta['wgnas.bn-epsilon']).toBe('0.001');
    },
  );

  it('an unrecognised --net file: the message lists all four forms --net takes', async () => {
    const odd = join(tmp, 'odd.json');
    writeFileSync(odd, '{"foo": 1}');
    refused(
      await exportArgs('--net', odd),
      1,
      /odd\.json: unrecognised network: expected a ProxylessNAS net\.config .*, a compact \{inputSize, stem, blocks, featureMix, classes\} object, a wgnas-arch JSON .* or a wgnas-nb201 JSON/,
    );
  });

  it("a wgnas-nb201 file (a search's --train-out network.json) is the --nb201 network it names; a bad one is refused naming the file", async () => {
    const file = join(tmp, 'nb201.json');
    writeFileSync(file, nb201NetworkText(ARCH, { channels: 8, cellsPerStage: 2 }));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      format: 'wgnas-nb201',
      version: 1,
      arch: ARCH,
      channels: 8,
      cellsPerStage: 2,
    });
    expect(jsonNetwork(JSON.parse(readFileSync(file, 'utf8')))).toEqual(nb201Network(ARCH, { channels: 8, cellsPerStage: 2 }));
    // Without sizes: NB201's defaults, as --nb201 without --channels / --cells-per-stage.
    expect(jsonNetwork({ format: 'wgnas-nb201', version: 1, arch: ARCH })).toEqual(nb201Network(ARCH));
    // The same model as --nb201 with the same sizes and seed.
    const viaFile = await wgnasInProcess(['export', '--out', join(tmp, 'f.onnx'), '--bn-batch', '2', '--net', file]);
    expect(viaFile.code, viaFile.err).toBe(0);
    const viaFlag = await wgnasInProcess([
      ...['export', '--out', join(tmp, 'n.onnx'), '--bn-batch', '2', '--nb201', ARCH],
      ...['--channels', '8', '--cells-per-stage', '2'],
    ]);
    expect(viaFlag.code, viaFlag.err).toBe(0);
    expect(readFileSync(join(tmp, 'f.onnx'))).toEqual(readFileSync(join(tmp, 'n.onnx')));
    for (const [bad, why] of [
      [{ format: 'wgnas-nb201', version: 1 }, /'arch' must be an NB201 cell string/],
      [{ format: 'wgnas-nb201', version: 1, arch: '|bogus~0|' }, /'arch': /],
      [{ format: 'wgnas-nb201', version: 1, arch: ARCH, channels: 0 }, /'channels' must be an integer in 1\.\.1024, got 0/],
    ] as const) {
      writeFileSync(file, JSON.stringify(bad));
      refused(await exportArgs('--net', file), 1, new RegExp(`nb201\\.json: ${why.source}`));
    }
    writeFileSync(file, nb201NetworkText(ARCH, { channels: 8, cellsPerStage: 2 }));
    refused(
      await exportArgs('--net', file, '--resolution', '64'),
      1,
      /nb201\.json: an NB201 network is 32x32, not 64: drop --resolution/,
    );
  });

  it.skipIf(cpuTestBackend() === null)(
    'train --net on a 3-class folder, then export --net --weights --classes 3 (refused without --classes)',
    { timeout: 120_000 },
    async () => {
      const data = join(tmp, 'three');
      await writeImageFolder(join(data, 'train'), [4, 4, 4], { format: 'png' });
      await writeImageFolder(join(data, 'test'), [2, 2, 2], { format: 'png' });
      const out = join(tmp, 'trained');
      const t = await wgnasInProcess([
        ...['train', '--net', config, '--dataset', `folder:${data}`, '--epochs', '1', '--batch', '4'],
        ...['--device', 'cpu', '--cpu-threads', '1', '--latency-runs', '2', '--quiet', '--out', out],
      ]);
      expect(t.code, t.err).toBe(0);
      // The deployable latency: the net.config as the addon's op chain (as predict --measure), beside wgnas' forward.
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.latencyMs).toBeGreaterThan(0);
      expect(report.latency).toMatchObject({ batch: 1, runs: 2, statistic: 'median' });
      expect(report.latency.device).toMatch(/^oneDNN .* op chain, 1 thread$/);
      expect(report.forwardLatencyMs).toBeGreaterThan(0);
      expect(t.out).toMatch(
        /batch 1: [\d.]+ ms as deployed \(oneDNN .* op chain, 1 thread, as predict --measure\), wgnas CPU-backend forward [\d.]+ ms/,
      );
      const weights = join(out, 'weights.json');
      refused(await exportArgs('--net', config, '--weights', weights), 1, /export with --classes 3/);
      const r = await exportArgs('--net', config, '--weights', weights, '--classes', '3');
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(
        /32x32.*\n.*weights file weights\.json \(sha256 [0-9a-f]{16}\)[^]*running statistics from the weights file/,
      );

      // What the network expects and what its logits are: the folder's per-channel statistics (of
      // its 12 solid-colour training PNGs), its class names in label order, the size and layout.
      const px = [0, 1, 2].flatMap((c) => [0, 1, 2, 3].map((k) => colourOf(c, k).map((v) => v / 255)));
      const mean = [0, 1, 2].map((ch) => px.reduce((t, p) => t + p[ch], 0) / px.length);
      const std = mean.map((m, ch) => Math.sqrt(px.reduce((t, p) => t + p[ch] ** 2, 0) / px.length - m * m));
      const index = JSON.parse(readFileSync(weights, 'utf8'));
      expect(index.input).toMatchObject({
        layout: 'NCHW',
        channels: 'RGB',
        size: 32,
        classNames: ['class0', 'class1', 'class2'],
      });
      expect(index.input.resize).toBe(
        'turned upright by its EXIF orientation, resized so the shorter side is 32 px, centre-cropped to 32x32',
      );
      index.input.mean.forEach((v: number, ch: number) => expect(v).toBeCloseTo(mean[ch], 6));
      index.input.std.forEach((v: number, ch: number) => expect(v).toBeCloseTo(std[ch], 6));
      expect(report.input).toEqual(index.input);
      const meta = onnxMeta(join(tmp, 'm.onnx'));
      expect(JSON.parse(meta['wgnas.input-mean'])).toEqual(index.input.mean);
      expect(JSON.parse(meta['wgnas.input-std'])).toEqual(index.input.std);
      expect(JSON.parse(meta['wgnas.class-names'])).toEqual(['class0', 'class1', 'class2']);
      expect(meta['wgnas.input-size']).toBe('32');
      expect(meta['wgnas.preprocessing']).toBe(
        'RGB image, turned upright by its EXIF orientation, resized so the shorter side is 32 px, centre-cropped to 32x32, x = (pixel / 255 - input-mean) / input-std per channel, NCHW float32 [N, 3, 32, 32]',
      );
      // No local path in the model: the weights by file name and hash, the folder by its name.
      expect(meta['wgnas.init']).toMatch(/^weights file weights\.json \(sha256 [0-9a-f]{16}\)$/);
      expect(meta['wgnas.dataset']).toBe('folder:three');
      expect(Object.values(meta).join('\n')).not.toContain(tmp);
    },
  );

  it.skipIf(cpuTestBackend() === null)(
    'train on CIFAR-10, then export: the model carries its mean/std and the ten class names',
    { timeout: 120_000 },
    async () => {
      const out = join(tmp, 'trained-cifar');
      const t = await wgnasInProcess([
        ...['train', ...['--nb201', ARCH, '--channels', '4', '--cells-per-stage', '1'], '--dataset', 'cifar10'],
        ...['--train-images', '16', '--test-images', '8', '--epochs', '1', '--batch', '8'],
        ...['--device', 'cpu', '--cpu-threads', '1', '--latency-runs', '0', '--quiet', '--out', out],
      ]);
      expect(t.code, t.err).toBe(0);
      const onnx = join(tmp, 'cifar.onnx');
      const e = await wgnasInProcess([
        ...['export', '--nb201', ARCH, '--channels', '4', '--cells-per-stage', '1'],
        ...['--weights', join(out, 'weights.json'), '--out', onnx],
      ]);
      expect(e.code, e.err).toBe(0);
      const meta = onnxMeta(onnx);
      expect(JSON.parse(meta['wgnas.input-mean'])).toEqual([0.4914, 0.4822, 0.4465]);
      expect(JSON.parse(meta['wgnas.input-std'])).toEqual([0.247, 0.2435, 0.2616]);
      expect(JSON.parse(meta['wgnas.class-names'])).toEqual([
        ...['airplane', 'automobile', 'bird', 'cat', 'deer'],
        ...['dog', 'frog', 'horse', 'ship', 'truck'],
      ]);
      expect(meta['wgnas.preprocessing']).toMatch(/^RGB image, 32x32 as is, /);
      // A subset is named with where it came from (a fetched full release is 'cifar10').
      expect(meta['wgnas.dataset']).toMatch(
        /^cifar10( \((bundled subset|subset from \$WGNAS_DATA_DIR): 16 train \/ 8 test images\))?$/,
      );
    },
  );
});

/** Sets the field at a dotted path ('blocks.1.mobile_inverted_conv.use_se'); undefined deletes it. */
function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  const at = keys.reduce((x, k) => x[k] as Record<string, unknown>, o);
  if (value === undefined) delete at[last];
  else at[last] = value;
}

/**
 * A Once-for-All MobileNetV3 net.config (h_swish, squeeze-excite, final_expand_layer, a feature mix
 * without BN, dropout): its fields in OFA's order, as its `net.config` files write them.
 */
function ofaConfig(): Record<string, unknown> {
  const conv = (inC: number, outC: number, k: number, s: number, act: string, bn = true) => ({
    name: 'ConvLayer',
    kernel_size: k,
    stride: s,
    dilation: 1,
    groups: 1,
    bias: false,
    has_shuffle: false,
    in_channels: inC,
    out_channels: outC,
    use_bn: bn,
    act_func: act,
    dropout_rate: 0,
    ops_order: 'weight_bn_act',
  });
  const mb = (inC: number, outC: number, k: number, s: number, e: number, act: string, se: boolean) => ({
    name: 'MobileInvertedResidualBlock',
    mobile_inverted_conv: {
      name: 'MBInvertedConvLayer',
      in_channels: inC,
      out_channels: outC,
      kernel_size: k,
      stride: s,
      expand_ratio: e,
      mid_channels: null,
      act_func: act,
      use_se: se,
    },
    shortcut: null,
  });
  return {
    name: 'MobileNetV3',
    bn: { momentum: 0.1, eps: 1e-5 },
    first_conv: conv(3, 16, 3, 2, 'h_swish'),
    blocks: [mb(16, 16, 3, 1, 1, 'relu', false), mb(16, 24, 5, 2, 3, 'h_swish', true)],
    final_expand_layer: conv(24, 96, 1, 1, 'h_swish'),
    feature_mix_layer: conv(96, 1280, 1, 1, 'h_swish', false),
    classifier: {
      name: 'LinearLayer',
      in_features: 1280,
      out_features: 1000,
      bias: true,
      use_bn: false,
      act_func: null,
      dropout_rate: 0.1,
      ops_order: 'weight_bn_act',
    },
  };
}

describe('network files wgnas cannot build or read', () => {
  const ONLY = /: wgnas builds ProxylessNAS MobileNetV2 net\.configs only \(ReLU6, no squeeze-excite, no final_expand_layer\)$/;

  it('a Once-for-All MobileNetV3 net.config is refused naming its first field wgnas cannot build, each in turn as they are edited out', () => {
    const c = ofaConfig();
    const steps: Array<[RegExp, string, unknown]> = [
      [/^ofa\.json: name is "MobileNetV3"/, 'name', 'ProxylessNASNets'],
      [/^ofa\.json: first_conv\.act_func is "h_swish"/, 'first_conv.act_func', 'relu6'],
      [/^ofa\.json: blocks\[0\]\.mobile_inverted_conv\.act_func is "relu"/, 'blocks.0.mobile_inverted_conv.act_func', 'relu6'],
      [/^ofa\.json: blocks\[1\]\.mobile_inverted_conv\.act_func is "h_swish"/, 'blocks.1.mobile_inverted_conv.act_func', 'relu6'],
      [/^ofa\.json: blocks\[1\]\.mobile_inverted_conv\.use_se is true/, 'blocks.1.mobile_inverted_conv.use_se', false],
      [/^ofa\.json: final_expand_layer is present \(MobileNetV3's 1x1 conv before the pool\)/, 'final_expand_layer', undefined],
      [/^ofa\.json: feature_mix_layer\.use_bn is false/, 'feature_mix_layer.use_bn', true],
      [/^ofa\.json: feature_mix_layer\.act_func is "h_swish"/, 'feature_mix_layer.act_func', 'relu6'],
    ];
    for (const [msg, path, value] of steps) {
      expect(() => jsonNetwork(c, 32, 'ofa.json')).toThrow(msg);
      expect(() => jsonNetwork(c, 32, 'ofa.json')).toThrow(ONLY);
      setPath(c, path, value);
    }
    expect(() => jsonNetwork(c, 32, 'ofa.json')).toThrow(
      /^ofa\.json: classifier\.dropout_rate is 0\.1: wgnas builds no dropout \(0 builds the network without it\)$/,
    );
    setPath(c, 'classifier.dropout_rate', 0);
    // Now a ProxylessNAS MobileNetV2 that wgnas builds as written (the channels are the next check).
    expect(() => jsonNetwork(c, 32, 'ofa.json')).toThrow(/feature_mix_layer\.in_channels is not 24/);
    setPath(c, 'feature_mix_layer.in_channels', 24);
    expect(jsonNetwork(c, 32, 'ofa.json')).toMatchObject({ kind: 'mobilenet', bnEps: 1e-5 });
    // Unknown block and layer names, and fields of ProxylessNAS's layers with another value.
    for (const [path, value, msg] of [
      ['blocks.0.name', 'ResidualBlock', /^ofa\.json: blocks\[0\]\.name is "ResidualBlock": unknown block; wgnas builds/],
      [
        'blocks.1.mobile_inverted_conv.name',
        'MBConvLayer',
        /blocks\[1\]\.mobile_inverted_conv\.name is "MBConvLayer": unknown layer/,
      ],
      ['first_conv.name', 'DynamicConvLayer', /^ofa\.json: first_conv\.name is "DynamicConvLayer": unknown layer/],
      ['first_conv.groups', 2, /^ofa\.json: first_conv\.groups is 2: wgnas builds/],
      ['classifier.bias', false, /^ofa\.json: classifier\.bias is false: wgnas builds/],
      ['blocks.0.shortcut', { name: 'IdentityLayer', use_bn: true }, /^ofa\.json: blocks\[0\]\.shortcut\.use_bn is true/],
    ] as const) {
      const x = structuredClone(c);
      setPath(x, path, value);
      expect(() => jsonNetwork(x, 32, 'ofa.json')).toThrow(msg);
    }
  });

  it('every net.config wgnas writes, ships or keeps as a fixture still loads', () => {
    const files = [
      ...readdirSync('data/latency')
        .filter((f) => f.endsWith('.config'))
        .map((f) => join('data/latency', f)),
      ...readdirSync('bench/results/proxyless-short', { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.config'))
        .map((f) => join('bench/results/proxyless-short', f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) expect(() => jsonNetwork(JSON.parse(readFileSync(f, 'utf8')), 32, f), f).not.toThrow();
    for (const f of ['mbconv.json', 'mbconv-eps.json']) {
      const fx = JSON.parse(readFileSync(join('test/fixtures/train-parity', f), 'utf8'));
      expect(() => jsonNetwork(fx.case.netConfig, undefined, f), f).not.toThrow();
    }
    const layers = layerShapes(CIFAR_LAYOUT);
    for (const pick of [0, 1, 5])
      expect(() =>
        jsonNetwork(
          toNetConfig(
            CIFAR_LAYOUT,
            layers.map(() => pick),
          ),
        ),
      ).not.toThrow();
  });

  it('train, export, predict and profile --net refuse it in one line naming the file', async () => {
    const ofa = join(tmp, 'ofa.json');
    writeFileSync(ofa, JSON.stringify(ofaConfig()));
    const data = join(tmp, 'ofa-data');
    await writeImageFolder(join(data, 'train'), [2, 2], { format: 'png' });
    await writeImageFolder(join(data, 'test'), [1, 1], { format: 'png' });
    const name = /ofa\.json: name is "MobileNetV3": wgnas builds ProxylessNAS MobileNetV2 net\.configs only/;
    refused(await exportArgs('--net', ofa), 1, name);
    refused(await wgnasInProcess(['train', '--net', ofa, '--dataset', `folder:${data}`, '--out', join(tmp, 'ofa-run')]), 1, name);
    refused(await wgnasInProcess(['predict', '--table', TABLE, '--net', ofa]), 1, name);
    refused(await wgnasInProcess(['profile', '--net', ofa, '--out', join(tmp, 'ofa.yaml')]), 1, name);
  });

  it('a wgnas-arch or wgnas-nb201 file without a version this wgnas reads is refused in one line naming the file, by every reader', async () => {
    const arch = archJson(
      spaceFromLayout(CIFAR_LAYOUT),
      layerShapes(CIFAR_LAYOUT).map(() => 0),
    );
    const nb201 = JSON.parse(nb201NetworkText(ARCH, { channels: 8, cellsPerStage: 1 }));
    expect(arch.version).toBe(1);
    expect(() => jsonNetwork(arch)).not.toThrow();
    for (const [format, v] of [
      ['wgnas-arch', arch],
      ['wgnas-nb201', nb201],
    ] as const) {
      const { version: _, ...none } = v;
      for (const [bad, was] of [
        [none, "has no 'version'"],
        [{ ...v, version: 2 }, 'has version 2'],
        [{ ...v, version: '1' }, 'has version "1"'],
        [{ ...v, version: 1.5 }, 'has version 1.5'],
      ] as const) {
        const want = `^f\\.json: this ${format} file ${was.replace(/[.()]/g, (c) => `\\${c}`)}; this wgnas reads ${format} version 1$`;
        expect(() => jsonNetwork(bad, undefined, 'f.json'), JSON.stringify(bad.version)).toThrow(new RegExp(want));
      }
    }
    const data = join(tmp, 'version-data');
    await writeImageFolder(join(data, 'train'), [2, 2], { format: 'png' });
    await writeImageFolder(join(data, 'test'), [1, 1], { format: 'png' });
    const file = join(tmp, 'v99.json');
    for (const [v, readers] of [
      [
        { ...arch, version: 99 },
        [
          ['export', '--out', join(tmp, 'v.onnx'), '--net', file],
          ['train', '--net', file, '--dataset', `folder:${data}`, '--out', join(tmp, 'v-run')],
          ['predict', '--table', TABLE, '--net', file],
          ['profile', '--net', file, '--out', join(tmp, 'v.yaml')],
        ],
      ],
      [
        { ...nb201, version: 99 },
        [
          ['export', '--out', join(tmp, 'v.onnx'), '--net', file],
          ['train', '--net', file, '--dataset', `folder:${data}`, '--out', join(tmp, 'v-run')],
        ],
      ],
    ] as const) {
      writeFileSync(file, JSON.stringify(v));
      for (const argv of readers)
        refused(
          await wgnasInProcess([...argv]),
          1,
          new RegExp(`v99\\.json: this ${v.format} file has version 99; this wgnas reads ${v.format} version 1\n`),
        );
    }
  });
});
