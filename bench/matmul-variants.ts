/**
 * Device experiment: why the register-tiled matmul runs at ~2.4 TFLOP/s on an H200 whatever its
 * tile. Times matmul.wgsl against generated variants of the same tiling whose tile constants are
 * WGSL `const`s and whose per-thread accumulators are named vec4 registers (no function-scope
 * arrays indexed in loops the driver may not unroll). Each variant is checked against the CPU
 * reference on a small product first.
 *   MM_SIZE=4096 MM_REPEATS=10 [MM_ALL=1] npx tsx bench/matmul-variants.ts
 */
import { acquireGpu } from '../src/gpu/gpu.js';
import { registerShaderSource } from '../src/gpu/shaders.js';
import type { GpuTensor } from '../src/gpu/tensor.js';
import { matmul, MATMUL_PARAMS, matmulCpu } from '../src/kernels/matmul.js';
import type { MatmulTile } from '../src/kernels/matmul-tiles.js';
import { median } from '../src/util/quantile.js';

interface GenTile extends MatmulTile {
  /** 'unrolled': named vec4 accumulators, every FMA written out; 'loops': const-size arrays and const loops. */
  style: 'unrolled' | 'loops';
}

/** C = A B for row-major A [M x K], B [K x N] (batch 1, K and N multiples of 4), bounds-checked. */
function generate(t: GenTile): string {
  const { BM, BN, BK, TM, TN } = t;
  const WGX = BN / TN;
  const WGY = BM / TM;
  const threads = WGX * WGY;
  const unitsA = (BM * BK) / 4;
  const unitsB = (BK * BN) / 4;
  const SA = BM / 4 + 1;
  const SB = BN / 4;
  const CV = TN / 4;
  const L: string[] = [];
  L.push(`struct Params { M: u32, N: u32, K: u32, batch: u32, transA: u32, transB: u32, strideA: u32, strideB: u32,
  strideC: u32, alpha: f32, beta: f32, flags: u32, splits: u32, kChunk: u32, _a: u32, _b: u32, }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;
var<workgroup> As: array<vec4<f32>, ${BK * SA}>;
var<workgroup> Bs: array<vec4<f32>, ${BK * SB}>;
@compute @workgroup_size(${WGX}, ${WGY}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x; let ty = lid.y; let tid = ty * ${WGX}u + tx;
  let row0 = wg.y * ${BM}u; let col0 = wg.x * ${BN}u;
  let K4 = p.K / 4u; let N4 = p.N / 4u;`);
  if (t.style === 'unrolled') {
    for (let r = 0; r < TM; r++) for (let c = 0; c < CV; c++) L.push(`  var acc_${r}_${c} = vec4<f32>();`);
  } else {
    L.push(`  var acc: array<vec4<f32>, ${TM * CV}>;`);
  }
  L.push(`  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {`);
  for (let l = 0; l * threads < unitsA; l++) {
    const guard = (l + 1) * threads > unitsA ? `if (tid + ${l * threads}u < ${unitsA}u) ` : '';
    L.push(`    ${guard}{
      let u = tid + ${l * threads}u; let r = u / ${BK / 4}u; let kk = (u % ${BK / 4}u) * 4u;
      var v = vec4<f32>();
      if (row0 + r < p.M && k0 + kk < p.K) { v = A[(row0 + r) * K4 + (k0 + kk) / 4u]; }
      let s = kk * ${SA}u + r / 4u; let q = r % 4u;
      As[s][q] = v.x; As[s + ${SA}u][q] = v.y; As[s + ${2 * SA}u][q] = v.z; As[s + ${3 * SA}u][q] = v.w;
    }`);
  }
  for (let l = 0; l * threads < unitsB; l++) {
    const guard = (l + 1) * threads > unitsB ? `if (tid + ${l * threads}u < ${unitsB}u) ` : '';
    L.push(`    ${guard}{
      let u = tid + ${l * threads}u; let k = u / ${SB}u; let c4 = u % ${SB}u;
      var v = vec4<f32>();
      if (k0 + k < p.K && col0 + c4 * 4u < p.N) { v = B[(k0 + k) * N4 + col0 / 4u + c4]; }
      Bs[k * ${SB}u + c4] = v;
    }`);
  }
  L.push(`    workgroupBarrier();
    for (var k = 0u; k < ${BK}u; k++) {`);
  for (let rv = 0; rv < TM / 4; rv++) L.push(`      let a${rv} = As[k * ${SA}u + ty + ${rv * WGY}u];`);
  for (let cv = 0; cv < CV; cv++) L.push(`      let b${cv} = Bs[k * ${SB}u + tx + ${cv * WGX}u];`);
  if (t.style === 'unrolled') {
    for (let rv = 0; rv < TM / 4; rv++) {
      for (let i = 0; i < 4; i++) {
        for (let cv = 0; cv < CV; cv++) {
          const r = rv * 4 + i;
          L.push(`      acc_${r}_${cv} = fma(vec4<f32>(a${rv}.${'xyzw'[i]}), b${cv}, acc_${r}_${cv});`);
        }
      }
    }
  } else {
    L.push(`      let av = array<vec4<f32>, ${TM / 4}>(${Array.from({ length: TM / 4 }, (_, i) => `a${i}`).join(', ')});`);
    L.push(`      let bv = array<vec4<f32>, ${CV}>(${Array.from({ length: CV }, (_, i) => `b${i}`).join(', ')});`);
    L.push(`      for (var r = 0u; r < ${TM}u; r++) { for (var c = 0u; c < ${CV}u; c++) {
        acc[r * ${CV}u + c] = fma(vec4<f32>(av[r / 4u][r % 4u]), bv[c], acc[r * ${CV}u + c]); } }`);
  }
  L.push(`    }
    workgroupBarrier();
  }`);
  // Thread rows: rv * 4 * WGY + 4 * ty + i; column chunks: cv * 4 * WGX + 4 * tx.
  for (let rv = 0; rv < TM / 4; rv++) {
    for (let i = 0; i < 4; i++) {
      const r = rv * 4 + i;
      for (let cv = 0; cv < CV; cv++) {
        const val = t.style === 'unrolled' ? `acc_${r}_${cv}` : `acc[${r * CV + cv}]`;
        L.push(`  { let r = row0 + ${rv * 4 * WGY}u + 4u * ty + ${i}u; let c = col0 + ${cv * 4 * WGX}u + 4u * tx;
    if (r < p.M && c < p.N) { C[(r * p.N + c) / 4u] = p.alpha * ${val}; } }`);
      }
    }
  }
  L.push('}');
  return L.join('\n');
}

const size = Number(process.env.MM_SIZE ?? 4096);
const repeats = Number(process.env.MM_REPEATS ?? 10);
const gpu = await acquireGpu();
console.log(`adapter: ${gpu.name}`);

const variants: GenTile[] = [
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, style: 'unrolled' },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, style: 'loops' },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, style: 'unrolled' },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, style: 'unrolled' },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4, style: 'unrolled' },
  { BM: 64, BN: 128, BK: 16, TM: 4, TN: 8, style: 'unrolled' },
  { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8, style: 'unrolled' },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, style: 'loops' },
  { BM: 32, BN: 32, BK: 32, TM: 4, TN: 4, style: 'unrolled' },
];
const isSoftware = gpu.adapter.isSoftware;
const list = isSoftware && !process.env.MM_ALL ? variants.slice(0, 2) : variants;
const n = isSoftware ? Math.min(size, 256) : size;

function rand(len: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: len }, () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5);
}

type Go = (a: GpuTensor, b: GpuTensor, c: GpuTensor, M: number, N: number, K: number) => void;

const A = gpu.upload(rand(n * n, 3), [n, n]);
const B = gpu.upload(rand(n * n, 4), [n, n]);
const Cout = gpu.empty([n, n]);

async function run(label: string, go: Go): Promise<void> {
  const [pm, pn, pk] = [67, 44, 36]; // parity on an awkward product first
  const ha = rand(pm * pk, 1);
  const hb = rand(pk * pn, 2);
  const pa = gpu.upload(ha, [pm, pk]);
  const pb = gpu.upload(hb, [pk, pn]);
  const pc = gpu.empty([pm, pn]);
  go(pa, pb, pc, pm, pn, pk);
  const got = await gpu.read(pc);
  const want = matmulCpu(ha, [pm, pk], hb, [pk, pn]);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  for (const t of [pa, pb, pc]) t.dispose();
  for (let i = 0; i < 2; i++) go(A, B, Cout, n, n, n);
  await gpu.sync();
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    await gpu.beginTimer();
    go(A, B, Cout, n, n, n);
    ms.push((await gpu.endTimer()).ms);
  }
  const m = median(ms);
  const gflops = (2 * n ** 3) / m / 1e6;
  console.log(`${label.padEnd(34)} ${m.toFixed(3).padStart(9)} ms  ${gflops.toFixed(0).padStart(7)} GFLOP/s  parity max|err| ${err.toExponential(1)}`);
}

console.log(`matmul ${n}^3, median of ${repeats}, timestamp queries: ${gpu.hasTimestamps}`);
for (const tile of [
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
]) {
  await run(`matmul.wgsl ${tile.BM}x${tile.BN}x${tile.BK}/${tile.TM}x${tile.TN}`, (a, b, c) => matmul(gpu, a, b, { out: c, tile, splits: 1 }));
}
for (const v of list) {
  const name = `gen_${v.style}_${v.BM}x${v.BN}x${v.BK}_${v.TM}x${v.TN}.wgsl`;
  registerShaderSource(name, generate(v));
  try {
    await run(name.replace('.wgsl', ''), (a, b, c, M, N, K) =>
      gpu.dispatch({
        kernel: { file: name },
        buffers: [a, b, c],
        uniforms: MATMUL_PARAMS.pack({
          M, N, K, batch: 1, transA: 0, transB: 0, strideA: 0, strideB: 0, strideC: 0,
          alpha: 1, beta: 0, flags: 7, splits: 1, kChunk: K, _a: 0, _b: 0,
        }),
        workgroups: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), 1],
      }),
    );
  } catch (e) {
    console.log(`${name}: failed: ${(e as Error).message.split('\n')[0]}`);
  }
}
for (const t of [A, B, Cout]) t.dispose();
gpu.destroy();
