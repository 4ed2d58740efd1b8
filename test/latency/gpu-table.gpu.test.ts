/**
 * GPU latency tables (`wgnas profile --device gpu`) on the WebGPU adapter (lavapipe in CI): each
 * table op runs as the networks run it and gives the key's output shape; a table over a small space
 * carries the adapter's stamp and its sum is of the order of the whole network timed on the same
 * adapter (no timing asserts beyond that); the CLI writes tables of the CIFAR MBConv space and of a
 * cell space, and a CPU table is never extended by a GPU run. Skips locally without an adapter,
 * fails under CI=true.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Gpu } from '../../src/gpu/gpu.js';
import { archParts, type ProxylessArch } from '../../src/latency/arch.js';
import { archToCellNet } from '../../src/mobilenet/proxyless-arch.js';
import { cellSpaceKeys } from '../../src/mobilenet/cell-latency-keys.js';
import { gpuOp, gpuTableSource, samplesToEntry, timeGpuNetwork } from '../../src/mobilenet/gpu-profiler.js';
import { keyToNativeOp, parseLatencyKey } from '../../src/latency/keys.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { predictLatency } from '../../src/latency/predictor.js';
import { spaceKeys } from '../../src/latency/space.js';
import { buildTable } from '../../src/latency/table-writer.js';
import { CIFAR_LAYOUT, layoutSpace } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { ParamStore } from '../../src/nn/init.js';
import { Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { onGpu } from '../helpers/backend.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});
afterAll(() => gpu?.destroy());

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-gpu-profile-'));

const arch: ProxylessArch = {
  inputSize: 16,
  stem: { outC: 8, kernel: 3, stride: 2 },
  blocks: [
    { kernel: 3, expand: 1, stride: 1, inC: 8, outC: 8, inH: 8, idskip: false },
    { kernel: 5, expand: 6, stride: 2, inC: 8, outC: 16, inH: 8, idskip: false },
    { kernel: 3, expand: 3, stride: 1, inC: 16, outC: 16, inH: 4, idskip: true },
    'zero',
  ],
  featureMix: { outC: 32 },
  classes: 10,
};

describe('GPU table ops', () => {
  it("each key's op gives the key's output shape, finite", async ({ skip }) => {
    if (!gpu) return skip();
    const keys = [
      ...archParts(arch).map((p) => p.key),
      'conv-input:8x8x8-output:4x4x12-kernel:3-stride:2-relu6:1',
      'dwconv-input:8x8x12-output:8x8x12-kernel:7-stride:1-relu6:0',
    ];
    for (const key of keys) {
      const p = parseLatencyKey(key);
      const b = onGpu(gpu);
      const store = new ParamStore(b, new Rng(1));
      const { inputShape, forward } = gpuOp(store, keyToNativeOp(key));
      expect(inputShape).toEqual([1, p.input[2], p.input[0], p.input[1]]);
      const x = b.upload(new Rng(2).normals(inputShape.reduce((a, b) => a * b)), inputShape);
      const t = new Tape(b, { noGrad: true });
      const y = forward(t, t.input(x));
      const want = p.output.length === 3 ? [1, p.output[2], p.output[0], p.output[1]] : [1, p.output[0]];
      expect(y.shape, key).toEqual(want);
      const v = await y.value.read();
      expect(v.every(Number.isFinite), key).toBe(true);
      if (/relu6:1/.test(key)) expect(Math.max(...v)).toBeLessThanOrEqual(6);
      t.dispose();
      x.dispose();
      store.dispose();
    }
  });

  it('summarizes samples as the native profiler does', () => {
    const e = samplesToEntry([4, 1, 3, 2]);
    expect(e).toEqual({ count: 4, mean: 2.5, var: 5 / 3, median: 2.5, iqr: 1.5 });
  });
});

describe('GPU tables', () => {
  it('a small space: stamped with the adapter; table sum vs the whole network on the same adapter', async ({ skip }) => {
    if (!gpu) return skip();
    const keys = archParts(arch).map((p) => p.key);
    const { table } = await buildTable({ keys }, gpuTableSource(keys, onGpu(gpu), { repeats: 3, warmup: 1 }));
    expect([...table.entries.keys()]).toEqual(keys);
    for (const e of table.entries.values()) {
      expect(e.count).toBe(3);
      expect(e.mean).toBeGreaterThan(0);
    }
    expect(table.meta.device).toBe('gpu');
    expect(table.meta.gpu).toBe(gpu.adapter.description || gpu.adapter.device);
    expect(table.meta.timing).toBe(gpu.hasTimestamps ? 'timestamp-query' : 'wall-clock');
    expect(table.meta.library).toMatch(/^Dawn \(webgpu \d/);
    const net = archToCellNet(arch);
    const whole = await timeGpuNetwork(onGpu(gpu), net.layout, net.cells, net.choices, { repeats: 3, warmup: 1 });
    const measured = samplesToEntry(whole.samplesMs).median!;
    const pred = predictLatency(table, arch, { field: 'median' }).totalMs;
    // How close the table's sum is to the whole network is a benchmark, not a test (no timing asserts).
    expect(Number.isFinite(measured) && measured > 0).toBe(true);
    expect(Number.isFinite(pred) && pred > 0).toBe(true);
  });

  it('CLI: the CIFAR space and a cell space on the GPU; a CPU table is not extended by a GPU run', async ({ skip }) => {
    if (!gpu) return skip();
    const fast = ['--device', 'gpu', '--repeats', '2', '--warmup', '0', '--quiet'];
    const out = join(tmp, 'cifar.yaml');
    const r = await wgnasInProcess(['profile', '--out', out, '--space', 'cifar', '--limit', '3', ...fast]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const t = readLatencyTable(out);
    expect([...t.entries.keys()]).toEqual(spaceKeys(layoutSpace(CIFAR_LAYOUT)).slice(0, 3));
    expect(t.meta.space).toBe('cifar');
    expect(t.meta.resolution).toBe('32');

    const spaceFile = join(tmp, 'space.json');
    writeFileSync(spaceFile, JSON.stringify(handDesignedSpace(CIFAR_LAYOUT)));
    const cells = join(tmp, 'cells.yaml');
    const c = await wgnasInProcess(['profile', '--out', cells, '--space-file', spaceFile, '--limit', '7', ...fast]);
    expect(c.code).toBe(0);
    const ct = readLatencyTable(cells);
    expect([...ct.entries.keys()]).toEqual(cellSpaceKeys(spaceFromLayout(CIFAR_LAYOUT)).slice(0, 7));
    expect([...ct.entries.keys()].some((k) => k.startsWith('dwconv-'))).toBe(true);
    expect(ct.meta.space).toMatch(/^cell space [0-9a-f]{16} \(hand-designed, layout cifar\)$/);

    const cpu = join(tmp, 'cpu.yaml');
    writeFileSync(
      cpu,
      '# cpu: some CPU\n# library: oneDNN 2.6.3\n# backend: onednn\n# threads: 1\n# cache-flush: no (warm caches)\n# space: cifar\nConv-input:32x32x3-output:32x32x16:\n  count: 1\n  mean: 1\n',
    );
    const mixed = await wgnasInProcess(['profile', '--out', cpu, '--space', 'cifar', '--limit', '3', '--resume', ...fast]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/cannot resume .*cpu\.yaml: it was measured with device 'cpu', this run has 'gpu'/);
    const bad = await wgnasInProcess(['profile', '--out', join(tmp, 'x.yaml'), '--device', 'gpu', '--threads', '2']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--threads applies only with --device cpu/);
  });
});
