// Workgroup tree reductions shared by the reduction-style kernels (included, not a kernel by itself).
// The including file declares WG (const or override; a power of two, the workgroup size) and calls
// these from uniform control flow with every thread of the workgroup (they contain barriers). The
// trailing barrier lets the next call reuse red[] once every thread has read the result.

var<workgroup> red: array<f32, WG>;

fn wgSum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

fn wgMax(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  return m;
}
