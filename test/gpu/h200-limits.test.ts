/**
 * The device suite's large sizes (scripts/device-suite.sh, SUITE_SIZE=large) at the limits the H200
 * reported (bench/results/nvidia-h200/2026-12-04/info.json), without a GPU: the real host code runs
 * on a device that checks every buffer, binding, dispatch and program against those limits and
 * computes nothing (test/helpers/limits-device.ts). Groups are sized by the real planners from the
 * memory budget the suite sets there (half of the H200's 141 GiB).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scoreArch } from '../../src/autospace/cell-arch-net.js';
import { AutoSpace, DEFAULT_EVOLVE } from '../../src/autospace/evolve.js';
import { webgpuBackend } from '../../src/backend/webgpu.js';
import { defaultRegistry } from '../../src/bench/kernels/index.js';
import { MATMUL_TILE_CANDIDATES } from '../../src/bench/autotune.js';
import type { AdapterReport } from '../../src/gpu/adapter.js';
import type { Gpu } from '../../src/gpu/index.js';
import { matmul } from '../../src/kernels/matmul.js';
import { gemmTileMisfit } from '../../src/kernels/gemm-tile.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from '../../src/kernels/conv2d.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { tableCost } from '../../src/mobilenet/cost/table.js';
import { IMAGENET_LAYOUT } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, loadSpace } from '../../src/mobilenet/space-file.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../../src/proxyless/search.js';
import { allCells, sampleCell } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { ZeroShotScorer } from '../../src/zeroshot/index.js';
import { limitsGpu, type LimitsRecord, wgslWorkgroupUse } from '../helpers/limits-device.js';

// The large sweeps' inputs (up to 1 GiB) as zeros: nothing runs them, and drawing them took minutes.
vi.mock('../../src/bench/kernels/util.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/bench/kernels/util.js')>()),
  uniforms: (_rng: unknown, n: number) => new Float32Array(n),
}));

// Nothing runs on the limits device, so the subgroup-matrix tuner's exact check would refuse every
// candidate: here each candidate is built and dispatched once at the bench's shape (the device checks
// its program and grid against the H200's limits) and the first is measured.
vi.mock('../../src/bench/sgmat-tune.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/bench/sgmat-tune.js')>();
  const sg = await import('../../src/kernels/matmul-subgroup-matrix.js');
  return {
    ...real,
    tuneSubgroupMatrixMatmul: async (g: Gpu, variant: 'direct' | 'staged', s: { M: number; N: number; K: number }) => {
      const keys = [];
      for (const c of sg.SGMAT_CANDIDATES[variant]) {
        const key = await sg.prepareSubgroupMatrixMatmul(g, { ...c, variant });
        const [a, b] = [g.empty([s.M, s.K]), g.empty([s.K, s.N])];
        sg.matmulSubgroupMatrix(g, key, a, b).dispose();
        for (const t of [a, b]) t.dispose();
        keys.push(key);
      }
      return { key: keys[0], trials: [], shape: `${s.M}x${s.N}x${s.K}` };
    },
  };
});

const RUN = 'bench/results/nvidia-h200/2026-12-04';
const h200 = (f: string): AdapterReport => JSON.parse(readFileSync(`${RUN}/${f}`, 'utf8')).adapter;
/** What the suite exports there: half of nvidia-smi's memory.total (143771 MiB), as suite.log printed. */
const BUDGET_BYTES = (143771 * 1048576) / 2;
const GiB = 1024 ** 3;

let saved: string | undefined;
beforeAll(() => {
  saved = process.env.WGNAS_GPU_MEMORY_BYTES;
  process.env.WGNAS_GPU_MEMORY_BYTES = String(BUDGET_BYTES);
});
afterAll(() => {
  if (saved === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
  else process.env.WGNAS_GPU_MEMORY_BYTES = saved;
});

function expectWithin(r: LimitsRecord): void {
  expect(r.violations).toEqual([]);
  expect(r.dispatches).toBeGreaterThan(0);
}

describe('the limits device', () => {
  it('sizes workgroup memory and workgroup sizes from the WGSL as compiled', () => {
    const use = wgslWorkgroupUse(`alias SH = vec4<f32>;
const BK: u32 = 16u;
const BM: u32 = 64u;
const SA: u32 = BM / 4u + 1u;   // 17
const WG: u32 = 8u;
var<workgroup> As: array<SH, 2u * BK * SA>;
var<workgroup> red: array<f16, (WG + 1u) * 3u>;
var<workgroup> flag: atomic<u32>;
@compute @workgroup_size(WG, BM / 16u) fn main() {}
@compute @workgroup_size(64) fn other() {}`);
    expect(use.storageBytes).toBe(2 * 16 * 17 * 16 + 27 * 2 + 4);
    expect(use.sizes.get('main')).toEqual([8, 4, 1]);
    expect(use.sizes.get('other')).toEqual([64, 1, 1]);
  });

  it('refuses what the limits refuse', () => {
    const report = h200('info.json');
    const { gpu, record } = limitsGpu({ ...report, limits: { ...report.limits, maxComputeWorkgroupStorageSize: 1024 } });
    // The host's own check would refuse first: loosened for it alone, the device is what refuses.
    gpu.adapter.limits.maxComputeWorkgroupStorageSize = 1 << 20;
    const a = gpu.empty([64, 64]);
    matmul(gpu, a, a, { tile: { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 } }).dispose();
    expect(record.violations).toEqual([
      expect.stringMatching(
        /^matmul_f32_32x32x16_4x4_\w+\.wgsl:main workgroup memory: \d+ > maxComputeWorkgroupStorageSize 1024$/,
      ),
    ]);
    expect(() => gpu.empty([2 ** 29 + 1])).toThrow(/exceeds this device's maxStorageBufferBindingSize/);
    a.dispose();
  });
});

describe("the device suite's large sizes fit the H200's limits", () => {
  it('score --group auto: separate networks at batch 64, groups as the budget sizes them', async () => {
    const { gpu, record } = limitsGpu(h200('info.json'));
    const backend = webgpuBackend(gpu);
    const scorer = new ZeroShotScorer(backend, ['wrcor'], { batchSize: 64, seed: 0, net: NB201_DEFAULT, group: 'auto' });
    const rng = new Rng(3);
    const cells = Array.from({ length: 65 }, () => sampleCell(rng));
    await scorer.probe(cells[0]);
    const g = scorer.groupSize;
    expect(g).toBeGreaterThan(1);
    await scorer.scoreMany(cells.slice(1, 1 + g));
    expectWithin(record);
    expect(record.largestStorageBindingBytes).toBeLessThan(GiB);
  });

  it('score --group auto --group-mode stacked: the groups packed to the budget, batch 64', async () => {
    const { gpu, record } = limitsGpu(h200('info.json'));
    const backend = webgpuBackend(gpu);
    const scorer = new ZeroShotScorer(backend, ['wrcor'], {
      batchSize: 64,
      seed: 0,
      net: NB201_DEFAULT,
      group: 'auto',
      groupMode: 'stacked',
    });
    expect(scorer.packsStacked).toBe(true);
    // The first group of --all (what the suite scores first: few ops, 64 fit) and of 64 random cells
    // (most edges run every op: the estimate packs fewer).
    const rng = new Rng(5);
    const sizes: number[] = [];
    for (const cells of [allCells().slice(0, 64), Array.from({ length: 64 }, () => sampleCell(rng))]) {
      const [[a, b]] = [...scorer.stackedGroups(cells)];
      sizes.push(b - a);
      await scorer.scoreMany(cells.slice(a, b));
      await backend.trimPool?.();
    }
    expect(sizes[0]).toBe(64);
    expect(sizes[1]).toBeGreaterThan(8);
    expectWithin(record);
    expect(record.largestStorageBindingBytes).toBeLessThan(GiB);
  });

  it('bench --shapes large: every kernel of the suite, f16 and subgroup matrices with the unsafe features', async () => {
    const unsafe = h200('info-unsafe.json');
    // The f16 x f16 -> f32 fragment NVIDIA's cooperative matrices offer (the 2026-12-04 run did not record the list).
    const adapter = {
      ...unsafe,
      subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }],
    };
    const features = [...unsafe.features, 'chromium-experimental-subgroup-matrix'];
    const { gpu, record } = limitsGpu(adapter, features);
    const backend = webgpuBackend(gpu);
    const names = [
      ...['matmul', 'correlation', 'conv2d', 'conv2d-bwd-input', 'conv2d-bwd-weight', 'depthwise', 'gate-dot'],
      ...['fitness-mix', 'fitness-mix-bwd', 'fma', 'copy', 'matmul-f16', 'matmul-sgmat', 'matmul-sgmat-staged'],
      ...['batchnorm', 'batchnorm-bwd'],
    ];
    const reg = defaultRegistry();
    for (const name of names) {
      const k = reg.get(name);
      for (const shape of k.shapes.large) {
        const c = await k.setup(backend, shape);
        c.run();
        c.teardown();
        // Submitted, as the harness does between shapes: the next upload then skips the staging copy.
        await backend.sync();
      }
    }
    expectWithin(record);
    expect(record.largestBufferBytes).toBeGreaterThanOrEqual(GiB); // copy's 1024 MiB
  });

  it('every autotune candidate, as matmul and as each convolution pass, at the tuning shapes', () => {
    const { gpu, record } = limitsGpu(h200('info-unsafe.json'));
    const limits = gpu.adapter.limits;
    const a = gpu.empty([4096, 4096]);
    const x = gpu.empty([128, 128, 28, 28]);
    const w = gpu.empty([128, 128, 3, 3]);
    const p = { stride: 1, pad: 1 };
    for (const tile of MATMUL_TILE_CANDIDATES) {
      expect(gemmTileMisfit(tile, limits, 'matmul')).toBeNull();
      for (const precision of ['f32', 'f16'] as const) matmul(gpu, a, a, { tile, precision }).dispose();
      expect(gemmTileMisfit(tile, limits, 'conv')).toBeNull();
      const o = { algo: 'tiled' as const, tile };
      for (const core of ['program', 'legacy'] as const) {
        const y = conv2d(gpu, x, w, p, { ...o, core });
        conv2dBackwardInput(gpu, y, w, x.shape, p, { ...o, core }).dispose();
        conv2dBackwardWeight(gpu, x, y, w.shape, p, { ...o, core }).dispose();
        y.dispose();
      }
    }
    for (const t of [a, x, w]) t.dispose();
    expectWithin(record);
    expect(record.largestWorkgroupStorageBytes).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
  });

  it('imagenet: the 224 methods (ProxylessNAS step, AutoSpace round, zero-shot score) at batch 256', async () => {
    const { gpu, record } = limitsGpu(h200('info.json'));
    const backend = webgpuBackend(gpu);
    // bench/imagenet-folder.ts' configurations, on in-memory images (zeros) instead of a JPEG folder,
    // at the largest batch its header names for the device (the suite runs 64 and 128).
    const S = 224;
    const batch = 256;
    const classes = 8;
    const split = () => ({
      images: new Float32Array(batch * 3 * S * S),
      labels: new Uint16Array(batch),
      count: batch,
      size: S,
      classes,
    });
    const data = { train: split(), val: split() };
    const layout = { ...IMAGENET_LAYOUT, classes };
    const cost = tableCost(readLatencyTable('data/latency/proxylessnas_mobile_trim.yaml'), IMAGENET_LAYOUT).cost!;
    const s = new ProxylessSearch(
      backend,
      {
        ...DEFAULT_SEARCH,
        layout,
        paths: 1,
        costLoss: { kind: 'hinge', target: 80, lambda: 2 },
        warmupSteps: 0,
        searchSteps: 1,
        batchSize: batch,
        valBatchSize: batch,
      },
      data,
      cost,
    );
    await s.run();
    s.dispose();
    const cfg = { ...DEFAULT_EVOLVE, layout, budgetMadds: 500e6, populationSize: 4, k: 2, warmupSteps: 0, iterations: 1 };
    const evo = new AutoSpace(backend, { ...cfg, batchSize: batch, steps: 1 }, data);
    await evo.run();
    evo.dispose();
    const space = loadSpace(handDesignedSpace(layout));
    const x = new Float32Array(batch * 3 * S * S);
    const choices = space.cells.map((c, i) => (i * 5) % c.length);
    await scoreArch(backend, space, choices, ['wrcor'], { x, y: new Float32Array(batch), n: batch, size: S }, 1);
    expectWithin(record);
    // 1.2 GB: an expanded 112 x 112 activation; batch 512 would pass the 2 GiB binding.
    expect(record.largestStorageBindingBytes).toBeLessThan(1.5 * GiB);
  });
});
