// Parameter initialisation on the GPU (included by the fills src/kernels/random.ts generates):
// uniformValue gives the i-th value of src/util/rng.ts's Rng.uniforms (mulberry32 from generator
// state `state`), bit for bit, so a network's weights are drawn where they live instead of in a JS
// loop plus an upload.
//
// Rng.uniforms computes ((u / 2^32) * 2 - 1) * scale in f64 (scale an f64) and stores it as f32:
// two roundings, which f32 arithmetic cannot reproduce. Here the same value is formed exactly in
// integers: (u / 2^32) * 2 - 1 = +-h / 2^31 with h = |u - 2^31| (exact), and scale = M 2^E with
// M its 53-bit significand (sent as two u32s), so the f64 product is h M 2^(E - 31) rounded to 53
// significant bits (ties to even), then to 24 bits for f32. The host sends only scales whose
// results are normal f32s (src/kernels/random.ts), so the exponent is built directly.

// a * b as (low, high) 32-bit words, from 16-bit limbs (u32 products wrap, these never do).
fn mulWide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let mid = a0 * b1;
  let mid2 = mid + a1 * b0;
  let midCarry = select(0u, 1u, mid2 < mid);
  let lo = p00 + (mid2 << 16u);
  let loCarry = select(0u, 1u, lo < p00);
  return vec2<u32>(lo, a1 * b1 + (mid2 >> 16u) + (midCarry << 16u) + loCarry);
}

// Significant bits of a 96-bit number (words w.x low .. w.z high).
fn bitLength(w: vec3<u32>) -> u32 {
  if (w.z != 0u) { return 96u - countLeadingZeros(w.z); }
  if (w.y != 0u) { return 64u - countLeadingZeros(w.y); }
  return 32u - countLeadingZeros(w.x);
}

fn bitAt(w: vec3<u32>, k: u32) -> u32 {
  return (w[k / 32u] >> (k % 32u)) & 1u;
}

// Whether any bit below position k is set.
fn anyBelow(w: vec3<u32>, k: u32) -> bool {
  let word = k / 32u;
  var any = (w[word] & ((1u << (k % 32u)) - 1u)) != 0u;
  for (var j = 0u; j < word; j++) { any = any || w[j] != 0u; }
  return any;
}

// w >> d (0 <= d < 96).
fn shiftRight(w: vec3<u32>, d: u32) -> vec3<u32> {
  var s = w;
  var k = d;
  while (k >= 32u) {
    s = vec3<u32>(s.y, s.z, 0u);
    k -= 32u;
  }
  if (k == 0u) { return s; }
  return vec3<u32>((s.x >> k) | (s.y << (32u - k)), (s.y >> k) | (s.z << (32u - k)), s.z >> k);
}

// round(w / 2^d), ties to even (d < 96).
fn roundShift(w: vec3<u32>, d: u32) -> vec3<u32> {
  if (d == 0u) { return w; }
  var q = shiftRight(w, d);
  let half = bitAt(w, d - 1u) == 1u;
  if (half && (anyBelow(w, d - 1u) || (q.x & 1u) == 1u)) {
    q.x += 1u;
    if (q.x == 0u) {
      q.y += 1u;
      if (q.y == 0u) { q.z += 1u; }
    }
  }
  return q;
}

// The i-th draw from generator state `state`, times scale = M 2^exp (M = mHi:mLo), as Rng.uniforms
// stores it.
fn uniformValue(state: u32, i: u32, mLo: u32, mHi: u32, exp: i32) -> f32 {
  // mulberry32: draw i advances the state i + 1 times by the constant (u32 arithmetic wraps, as
  // Math.imul and the >>> 0 of the JS do).
  let s = state + (i + 1u) * 0x6d2b79f5u;
  var t = (s ^ (s >> 15u)) * (s | 1u);
  t ^= t + (t ^ (t >> 7u)) * (t | 61u);
  let u = t ^ (t >> 14u);
  let negative = u < 0x80000000u;
  let h = select(u - 0x80000000u, 0x80000000u - u, negative);
  if (h == 0u) { return 0.0; }  // (0.5 * 2 - 1) * scale = +0
  // P = h M: 32 x 53 bits, < 2^85.
  let pl = mulWide(h, mLo);
  let ph = mulWide(h, mHi);
  let w1 = pl.y + ph.x;
  let prod = vec3<u32>(pl.x, w1, ph.y + select(0u, 1u, w1 < pl.y));
  // f64: keep 53 significant bits; then f32: keep 24 (M >= 2^52, so P has at least 53).
  let d1 = bitLength(prod) - 53u;
  let q1 = roundShift(prod, d1);
  let d2 = bitLength(q1) - 24u;
  var q2 = roundShift(q1, d2).x;
  var e = i32(d1 + d2) + exp - 31;
  if (q2 == 0x1000000u) {  // rounding carried into a 25th bit
    q2 = 0x800000u;
    e += 1;
  }
  // value = q2 2^e with 2^23 <= q2 < 2^24: biased exponent e + 23 + 127.
  let bits = (u32(e + 150) << 23u) | (q2 & 0x7fffffu) | select(0u, 0x80000000u, negative);
  return bitcast<f32>(bits);
}
