// Peak-bandwidth calibration (STREAM "scale"): Y = s * X over vec4s, one read and one write per
// element. Bytes moved = 2 * 16 * n4. The scale keeps the copy from being a plain buffer copy the
// driver could shortcut, and lets a CPU reference check the result.

struct Params { n4: u32, scale: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec4<f32>>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  Y[i] = p.scale * X[i];
}
