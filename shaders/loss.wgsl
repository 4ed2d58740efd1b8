// Softmax cross-entropy, one workgroup per row of logits [N, K] (rows fold over x and y).
// Labels are f32 class indices. Writes the row's loss (log-sum-exp minus the label's logit) and
// dlogits = (softmax - onehot) * invN, the gradient of the batch mean. A label that is not an
// integer in [0, K) makes the row's loss and gradient NaN (p.nan), so the bad label is visible.
// With label smoothing eps the target is (1 - eps) onehot + eps / K: the loss takes
// (1 - eps) times the label's logit and eps / K times the row's sum off the log-sum-exp (eps = 0:
// exactly the plain loss and gradient).

struct Params { N: u32, K: u32, invN: f32, nan: f32, smoothing: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(2) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(3) var<storage, read> logits: array<f32>;
@group(0) @binding(4) var<storage, read> labels: array<f32>;

const WG: u32 = 64u;
//#include "workgroup_reduce.wgsl"

@compute @workgroup_size(WG)
fn ce_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * nwg.x;
  let inRange = row < p.N;
  let base = row * p.K;

  var m = -3.0e38;
  if (inRange) {
    for (var k = lid; k < p.K; k += WG) { m = max(m, logits[base + k]); }
  }
  let rowMax = wgMax(lid, m);

  // The label's class apart: its gradient sm_y - 1 + eps - eps / K is computed from the other
  // classes' share (1 - sm_y = others / sumExp), without the cancellation of sm_y - 1 in f32 (a row
  // the network is sure of, sm_y near 1, would keep few of its bits).
  var lf = 0.0;
  if (inRange) { lf = labels[row]; }
  let valid = lf >= 0.0 && lf < f32(p.K) && floor(lf) == lf;
  let label = select(0u, u32(lf), valid);
  var e = 0.0;
  if (inRange) {
    for (var k = lid; k < p.K; k += WG) {
      if (k != label) { e += exp(logits[base + k] - rowMax); }
    }
  }
  let others = wgSum(lid, e);
  var rowSum = 0.0;
  if (p.smoothing != 0.0) {  // uniform: every thread takes the same branch
    var t = 0.0;
    if (inRange) {
      for (var k = lid; k < p.K; k += WG) { t += logits[base + k]; }
    }
    rowSum = wgSum(lid, t);
  }
  if (!inRange) { return; }

  let sumExp = others + exp(logits[base + label] - rowMax);
  let inv = 1.0 / sumExp;
  let keep = 1.0 - p.smoothing;
  let share = p.smoothing / f32(p.K);
  let labelGrad = (p.smoothing - share) - others * inv;
  for (var k = lid; k < p.K; k += WG) {
    let g = select(exp(logits[base + k] - rowMax) * inv - share, labelGrad, k == label) * p.invN;
    dlogits[base + k] = select(p.nan, g, valid);
  }
  if (lid == 0u) {
    var l = rowMax + log(sumExp) - logits[base + label];
    if (p.smoothing != 0.0) { l = rowMax + log(sumExp) - keep * logits[base + label] - share * rowSum; }
    rowLoss[row] = select(p.nan, l, valid);
  }
}
