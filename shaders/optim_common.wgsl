// One element of an SGD step (PyTorch semantics, L2 weight decay added to the gradient), shared by
// optim.wgsl's sgd and the multi-tensor programs src/kernels/optim-many.ts generates, so that both
// do the same f32 operations in the same order. Returns (new w, new momentum buffer).
fn sgdElem(w: f32, g: f32, s: f32, lr: f32, wd: f32, momentum: f32, dampening: f32, nesterov: bool) -> vec2<f32> {
  var d = g + wd * w;
  let buf = momentum * s + (1.0 - dampening) * d;
  if (nesterov) { d = d + momentum * buf; } else { d = buf; }
  return vec2(w - lr * d, buf);
}
