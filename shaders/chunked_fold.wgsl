// The chunked fold shared by the reduction-style kernels (included, not a kernel by itself).
// Workgroup g folds the contiguous chunk [g * WG * ITEMS, (g + 1) * WG * ITEMS) of n elements:
// thread lid takes elements lid, lid + WG, ... (coalesced), combining each into its accumulator
// with the includer's
//   fn foldTerm(op: u32, i: u32, acc: f32) -> f32
// (acc combined with element i for reduction `op`; it may also write per-element outputs), then
// the workgroup sums the per-thread accumulators (wgSum). Every thread gets the chunk's total.
// `op` is a constant at each call site, so after inlining the compiler keeps one term's code.
// The includer declares WG and ITEMS (const or override; WG a power of two) and calls this from
// uniform control flow with every thread of the workgroup (wgSum has barriers).
//#include "workgroup_reduce.wgsl"

// Workgroup index of a 1-D grid folded over x and y by gpu.grid1d.
fn chunkIndex(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wg.x + wg.y * nwg.x;
}

fn chunkedFold(op: u32, g: u32, lid: u32, n: u32) -> f32 {
  let base = g * WG * ITEMS + lid;
  var acc = 0.0;
  for (var j = 0u; j < ITEMS; j++) {
    let i = base + j * WG;
    if (i < n) { acc = foldTerm(op, i, acc); }
  }
  return wgSum(lid, acc);
}
