// Reductions. Full reductions are multi-stage: each workgroup folds a contiguous chunk of
// WG * ITEMS elements into one partial (chunked_fold.wgsl); the host reruns reduce_sum over the
// partials until one value is left, applying the scale `s` only in the last stage. 1-D grids fold
// over x and y (gpu.grid1d): the workgroup index is wg.x + wg.y * nwg.x.
// Small workgroups with many items per thread: barriers are expensive on CPU backends
// (lavapipe switches coroutines per SIMD group at each one), so the tree is kept short.

struct Params { n: u32, cols: u32, s: f32, rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 64u;
override ITEMS: u32 = 32u;

//#include "chunked_fold.wgsl"

// ---- full reductions: out[wg] = s * sum over the workgroup's chunk of f(a, b) --------------------
// Every full reduction binds a and b (one term reads b, and static use is per module function), so
// the unary ones are given the same buffer twice (two read-only bindings of one buffer are valid).
@group(0) @binding(1) var<storage, read_write> r_out: array<f32>;
@group(0) @binding(2) var<storage, read> r_a: array<f32>;
@group(0) @binding(3) var<storage, read> r_b: array<f32>;

const FOLD_SUM: u32 = 0u;
const FOLD_SUMSQ: u32 = 1u;
const FOLD_ABSPROD: u32 = 2u;
const FOLD_DOT: u32 = 3u;

fn foldTerm(op: u32, i: u32, acc: f32) -> f32 {
  switch op {
    case FOLD_SUMSQ: { let v = r_a[i]; return fma(v, v, acc); }
    case FOLD_ABSPROD: { return acc + abs(r_a[i] * r_b[i]); }
    case FOLD_DOT: { return fma(r_a[i], r_b[i], acc); }
    default: { return acc + r_a[i]; }
  }
}

fn reduceChunk(op: u32, wg: vec3<u32>, nwg: vec3<u32>, lid: u32) {
  let g = chunkIndex(wg, nwg);
  let total = chunkedFold(op, g, lid, p.n);
  if (lid == 0u) { r_out[g] = p.s * total; }
}

@compute @workgroup_size(WG)
fn reduce_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  reduceChunk(FOLD_SUM, wg, nwg, lid);
}

@compute @workgroup_size(WG)
fn reduce_sumsq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  reduceChunk(FOLD_SUMSQ, wg, nwg, lid);
}

@compute @workgroup_size(WG)
fn reduce_absprod(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  reduceChunk(FOLD_ABSPROD, wg, nwg, lid);
}

// Dot-product partials (fitness mixing's g_k = sum o_k * dy when o_k needs no gradient).
@compute @workgroup_size(WG)
fn reduce_dot(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  reduceChunk(FOLD_DOT, wg, nwg, lid);
}

// ---- per-row / per-column sums of a [rows, cols] matrix ------------------------------------------
@group(0) @binding(1) var<storage, read_write> m_out: array<f32>;
@group(0) @binding(2) var<storage, read> m_x: array<f32>;

// One workgroup per row: out[row] = s * sum_c x[row, c].
@compute @workgroup_size(WG)
fn row_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  let inRange = row < p.rows;
  var acc = 0.0;
  if (inRange) {
    let base = row * p.cols;
    for (var c = lid; c < p.cols; c += WG) { acc += m_x[base + c]; }
  }
  let total = wgSum(lid, acc);
  if (lid == 0u && inRange) { m_out[row] = p.s * total; }
}

// One thread per column: out[c] = s * sum_r x[r, c] (rows are few where this is used: batch sizes).
@compute @workgroup_size(WG)
fn col_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.cols) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.rows; r++) { acc += m_x[r * p.cols + c]; }
  m_out[c] = p.s * acc;
}

// Sum of `rows` stacked slices of n elements: out[i] = sum_r x[r * n + i] (split-K partials).
@compute @workgroup_size(WG)
fn sum_slices(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.rows; r++) { acc += m_x[r * p.n + i]; }
  m_out[i] = p.s * acc;
}
