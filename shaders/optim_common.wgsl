// One element of an SGD step (PyTorch semantics, L2 weight decay added to the gradient), shared by
// optim.wgsl's sgd and the multi-tensor programs src/kernels/optim-many.ts generates, so that both
// do the same f32 operations in the same order. Returns (new w, new momentum buffer).
fn sgdElem(w: f32, g: f32, s: f32, lr: f32, wd: f32, momentum: f32, dampening: f32, nesterov: bool) -> vec2<f32> {
  var d = g + wd * w;
  let buf = momentum * s + (1.0 - dampening) * d;
  if (nesterov) { d = d + momentum * buf; } else { d = buf; }
  return vec2(w - lr * d, buf);
}

// One element of an Adam step (optim.wgsl's adam and adam_rows): lr arrives divided by bias
// correction 1, sqrtBc2 = sqrt(bias correction 2). Returns (new w, new m, new v).
fn adamElem(w: f32, g: f32, m0: f32, v0: f32, lr: f32, wd: f32, beta1: f32, beta2: f32, eps: f32, sqrtBc2: f32) -> vec3<f32> {
  let d = g + wd * w;
  let m = beta1 * m0 + (1.0 - beta1) * d;
  let v = beta2 * v0 + (1.0 - beta2) * d * d;
  return vec3(w - lr * m / (sqrt(v) / sqrtBc2 + eps), m, v);
}
