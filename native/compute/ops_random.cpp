// Parameter initialisation on the worker: uniformFill writes the values of src/util/rng.ts's
// Rng.uniforms (mulberry32) from a given generator state, bit for bit, straight into native memory.
// Network construction drew ~1M of these per NAS-Bench-201 network in JS (~3 ms of a 16 ms SynFlow
// cell); here draw i depends only on state + (i + 1) 0x6d2b79f5, so the loop vectorises.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "op.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {

// y[i] = (mulberry32(state + (i0 + i + 1) C) / 2^32 2 - 1) scale, computed in double and rounded
// to f32 as the JS Float32Array store rounds it.
WGNAS_CLONES void uniformsK(float* y, size_t n, uint32_t state, size_t i0, double scale) {
  const uint32_t base = state + static_cast<uint32_t>(i0) * 0x6d2b79f5u;
  for (size_t i = 0; i < n; i++) {
    uint32_t s = base + static_cast<uint32_t>(i + 1) * 0x6d2b79f5u;
    uint32_t t = (s ^ (s >> 15)) * (s | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    double u = static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
    y[i] = static_cast<float>((u * 2 - 1) * scale);
  }
}

void registerRandomOps(Registry& r) {
  // uniformFill: [y], n draws from generator state `state` (a uint32), times `scale`.
  r["uniformFill"] = {"uniformFill", 1,
                      [](const Params& p, const std::vector<size_t>& n) {
                        expectAtLeast(n, 0, static_cast<size_t>(nonNegative(p, "n")), "y");
                        int64_t s = nonNegative(p, "state");
                        if (s > 0xffffffffLL) throw OpError("parameter 'state' must be a uint32, got " + std::to_string(s));
                      },
                      [](Ctx& c) {
                        size_t n = static_cast<size_t>(c.p.i("n"));
                        uint32_t state = static_cast<uint32_t>(c.p.i("state"));
                        double scale = c.p.f("scale");
                        float* y = c.ptr(0);
                        parallelElems(c.threads(), n, [&](size_t b, size_t e) { uniformsK(y + b, e - b, state, b, scale); });
                      }};
  // uniformFillBlocks: [y], equal blocks of n values; block b: n / strides[b] draws from states[b]
  // (a uint32; -1: the block is zeros) times scales[b], at every strides[b]-th element from
  // offsets[b], zeros between.
  r["uniformFillBlocks"] = {"uniformFillBlocks", 1,
                            [](const Params& p, const std::vector<size_t>& n) {
                              const auto& states = p.arr("states");
                              size_t blk = static_cast<size_t>(nonNegative(p, "n"));
                              expectAtLeast(n, 0, elems({static_cast<int64_t>(blk), static_cast<int64_t>(states.size())}), "y");
                              const auto& strides = p.arr("strides");
                              const auto& offsets = p.arr("offsets");
                              if (p.arr("scales").size() != states.size() || strides.size() != states.size() || offsets.size() != states.size())
                                throw OpError("one scale, stride and offset per block");
                              for (size_t b = 0; b < states.size(); b++) {
                                double s = states[b];
                                if (s != -1 && !(s >= 0 && s <= 4294967295.0 && std::floor(s) == s))
                                  throw OpError("a block's state must be a uint32 or -1");
                                if (!(strides[b] >= 1 && std::floor(strides[b]) == strides[b] && blk % static_cast<size_t>(strides[b]) == 0 &&
                                      offsets[b] >= 0 && offsets[b] < strides[b] && std::floor(offsets[b]) == offsets[b]))
                                  throw OpError("a block's stride and offset do not tile it");
                              }
                            },
                            [](Ctx& c) {
                              size_t n = static_cast<size_t>(c.p.i("n"));
                              const auto& states = c.p.arr("states");
                              const auto& scales = c.p.arr("scales");
                              const auto& strides = c.p.arr("strides");
                              const auto& offsets = c.p.arr("offsets");
                              float* y = c.ptr(0);
                              parallelRange(c.threads(), states.size(), 1, [&](size_t lo, size_t hi) {
                                for (size_t b = lo; b < hi; b++) {
                                  float* yb = y + b * n;
                                  size_t stride = static_cast<size_t>(strides[b]);
                                  if (states[b] < 0 || stride > 1) std::fill(yb, yb + n, 0.0f);
                                  if (states[b] < 0) continue;
                                  uint32_t state = static_cast<uint32_t>(states[b]);
                                  if (stride == 1) {
                                    uniformsK(yb, n, state, 0, scales[b]);
                                    continue;
                                  }
                                  std::vector<float> v(n / stride);
                                  uniformsK(v.data(), v.size(), state, 0, scales[b]);
                                  size_t off = static_cast<size_t>(offsets[b]);
                                  for (size_t k = 0; k < v.size(); k++) yb[k * stride + off] = v[k];
                                }
                              });
                            }};
}

}  // namespace wgnas::compute
