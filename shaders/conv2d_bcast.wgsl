// Broadcast-operand GEMM core for the groups=1 convolution kernels (included, not a kernel by
// itself): the alternative to conv2d_gemm.wgsl for CPU backends (lavapipe), computing the same
// C = A * B from the same hooks (see conv2d_gemm.wgsl) with two entry points:
//   pack_a: AP[k][r] = A[r, k] for r < Mpad (zero rows past M); rows padded to a multiple of BCM
//   bcast:  every thread of a workgroup owns the same BCM rows and its own BCN columns, and walks
//           k in a uniform loop, so A arrives as uniform vec4 loads from AP (scalar loads plus a
//           broadcast on SIMD-on-CPU backends) and B is read straight from its source.
// No workgroup memory, no barriers. On lavapipe every divergent load becomes a per-lane loop and
// every uniform load a bounds-checked scalar load, so this cuts the per-FMA load cost several-fold
// against the shared-memory tiling (measured 3-4x on lavapipe; BCM x BCN = 16 x 8 was the best of
// 4..32 x 1..16 there).
// bcast grid: x = column tiles of BW*BCN (folded into z past 65535), y = row tiles of BCM,
// z = fold * splits + split (split-K as in conv2d_gemm.wgsl). Requires BCM % 4 == 0.

const BCM: u32 = 16u;
const BCN: u32 = 8u;
override BW: u32 = 64u;

@group(0) @binding(1) var<storage, read_write> APW: array<f32>;  // pack_a output
@group(0) @binding(2) var<storage, read> AP: array<vec4<f32>>;   // bcast input: [K][Mpad / 4]

@compute @workgroup_size(256)
fn pack_a(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= p.K * p.Mpad) { return; }
  let k = idx / p.Mpad;
  let r = idx - k * p.Mpad;
  var v = 0.0;
  if (r < p.M) { v = loadA(aCtx(k), r); }
  APW[idx] = v;
}

@compute @workgroup_size(BW)
fn bcast(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let split = wg.z % p.splits;
  let row0 = wg.y * BCM;
  let col0 = (wg.x + (wg.z / p.splits) * nwg.x) * BW * BCN + lid;
  let kBegin = split * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let rowVec0 = row0 / 4u;
  let mpadVec = p.Mpad / 4u;

  // Out-of-range columns compute on a clamped column and are not stored.
  var ctx: array<ColCtx, BCN>;
  for (var j = 0u; j < BCN; j++) { ctx[j] = colCtx(min(col0 + j * BW, p.N - 1u)); }

  var acc: array<f32, 128>;  // BCM * BCN
  for (var i = 0u; i < BCM * BCN; i++) { acc[i] = 0.0; }

  var kc = kCtx(kBegin);
  for (var k = kBegin; k < kEnd; k++) {
    var b: array<f32, BCN>;
    for (var j = 0u; j < BCN; j++) { b[j] = loadB(ctx[j], kc); }
    let aBase = k * mpadVec + rowVec0;
    for (var i4 = 0u; i4 < BCM / 4u; i4++) {
      let a4 = AP[aBase + i4];  // uniform address
      for (var ii = 0u; ii < 4u; ii++) {
        let i = i4 * 4u + ii;
        for (var j = 0u; j < BCN; j++) { acc[i * BCN + j] = fma(a4[ii], b[j], acc[i * BCN + j]); }
      }
    }
    kc = kNext(kc);
  }

  for (var j = 0u; j < BCN; j++) {
    let c = col0 + j * BW;
    if (c >= p.N) { continue; }
    let o = outCtx(c);
    for (var i = 0u; i < BCM; i++) {
      if (row0 + i < p.M) { storeC(o, row0 + i, split, acc[i * BCN + j]); }
    }
  }
}
