// Element-wise ops (activations, arithmetic, bias, the proxies' |C| accumulation and sign codes,
// copies), hand-written: each is one streaming pass, threaded in contiguous chunks above
// kSerialElems, vectorised for the CPU it runs on (simd.hpp). Sizes come from the parameters (a
// tensor may be a window on a larger buffer); check() verifies every buffer holds them.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "op.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {
namespace {

size_t count(const Params& p) { return static_cast<size_t>(nonNegative(p, "n")); }

// check() for an op whose `tensors` buffers each hold at least n elements.
std::function<void(const Params&, const std::vector<size_t>&)> eachHoldsN(int tensors) {
  return [tensors](const Params& p, const std::vector<size_t>& n) {
    for (int i = 0; i < tensors; i++) expectAtLeast(n, i, count(p), ("tensor " + std::to_string(i)).c_str());
  };
}

WGNAS_CLONES void reluK(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = std::max(x[i], 0.0f);
}
WGNAS_CLONES void relu6K(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = std::min(std::max(x[i], 0.0f), 6.0f);
}
WGNAS_CLONES void reluBwdK(const float* dy, const float* x, float* dx, size_t n) {
  for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0.0f;
}
WGNAS_CLONES void relu6BwdK(const float* dy, const float* x, float* dx, size_t n) {
  for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 && x[i] < 6 ? dy[i] : 0.0f;
}
WGNAS_CLONES void addK(const float* a, const float* b, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
WGNAS_CLONES void mulK(const float* a, const float* b, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}
WGNAS_CLONES void scaleK(const float* x, float* y, size_t n, float s) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] * s;
}
WGNAS_CLONES void absK(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = std::fabs(x[i]);
}
// y += a x (x may alias y).
WGNAS_CLONES void axpyK(float* y, const float* x, size_t n, float a) {
  for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}
WGNAS_CLONES void fillK(float* y, size_t n, float v) {
  for (size_t i = 0; i < n; i++) y[i] = v;
}
WGNAS_CLONES void accAbsK(float* y, const float* x, size_t n, float w) {
  for (size_t i = 0; i < n; i++) y[i] += w * std::fabs(x[i]);
}
WGNAS_CLONES void signK(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? 1.0f : -1.0f;
}
WGNAS_CLONES void mixK(float* y, const float* o, size_t n, float p, bool overwrite) {
  if (overwrite)
    for (size_t i = 0; i < n; i++) y[i] = p * o[i];
  else
    for (size_t i = 0; i < n; i++) y[i] += p * o[i];
}

using Unary = void (*)(const float*, float*, size_t);
using Binary = void (*)(const float*, const float*, float*, size_t);

OpDef unary(const char* name, Unary k) {
  return {name, 2, eachHoldsN(2), [k](Ctx& c) {
            const float* x = c.ptr(0);
            float* y = c.ptr(1);
            parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { k(x + b, y + b, e - b); });
          }};
}

OpDef binary(const char* name, Binary k) {
  return {name, 3, eachHoldsN(3), [k](Ctx& c) {
            const float* a = c.ptr(0);
            const float* b = c.ptr(1);
            float* y = c.ptr(2);
            parallelElems(c.threads(), count(c.p), [&](size_t lo, size_t hi) { k(a + lo, b + lo, y + lo, hi - lo); });
          }};
}

// K[slot*outs] += Σ_{l in slot} w_l v_l (and K[slot*outs+1] += Σ v_l, with outs 3 K[slot*outs+2] +=
// Σ w2_l v_l), v = |C_l| or C_l, with the diagonal counted as 1 when unitDiagonal. skipConstant: a layer with a diagonal entry below 1/2
// (a Gram product of unit rows has ~1 there, of a constant row's zero row 0) adds nothing.
// Threads over the n*n entries of every slot.
void accumulateAbsBatched(Ctx& c) {
  size_t n = static_cast<size_t>(positive(c.p, "n"));
  size_t slots = static_cast<size_t>(positive(c.p, "slots"));
  size_t outs = static_cast<size_t>(c.p.i("outs", 1));
  bool takeAbs = c.p.b("abs", true), unitDiag = c.p.b("unitDiagonal"), skipConstant = c.p.b("skipConstant");
  const auto& layerSlots = c.p.arr("layerSlots");
  const auto& weights = c.p.arr("weights");
  const std::vector<double> noWeights2;
  const auto& weights2 = outs > 2 ? c.p.arr("weights2") : noWeights2;
  float* dst = c.ptr(0);
  const float* src = c.ptr(1);
  size_t nn = n * n, L = layerSlots.size();
  std::vector<size_t> begin(slots, 0), end(slots, 0);  // layers [begin, end) of each slot
  std::vector<char> skip(L, 0);
  for (size_t l = 0; l < L; l++) {
    size_t s = static_cast<size_t>(layerSlots[l]);
    if (l == 0 || s != static_cast<size_t>(layerSlots[l - 1])) begin[s] = l;
    end[s] = l + 1;
    for (size_t k = 0; skipConstant && k < n && !skip[l]; k++) skip[l] = src[l * nn + k * (n + 1)] < 0.5f;
  }
  parallelRange(c.threads(), slots * nn, kSerialElems / 4, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
      size_t s = i / nn, e = i % nn;
      if (begin[s] == end[s]) continue;
      bool diag = unitDiag && e % (n + 1) == 0;
      float acc = 0, accU = 0, acc2 = 0;
      for (size_t l = begin[s]; l < end[s]; l++) {
        if (skip[l]) continue;
        float v = src[l * nn + e];
        if (takeAbs) v = std::fabs(v);
        if (diag) v = 1.0f;
        acc += static_cast<float>(weights[l]) * v;
        accU += v;
        if (outs > 2) acc2 += static_cast<float>(weights2[l]) * v;
      }
      dst[s * outs * nn + e] += acc;
      if (outs > 1) dst[(s * outs + 1) * nn + e] += accU;
      if (outs > 2) dst[(s * outs + 2) * nn + e] += acc2;
    }
  });
}

// dst[offsets[g] + r*features + f] = src[(r*groups + g)*features + f] for every group g whose
// offset is >= 0: each group's rows of a [rows, groups, features] tensor (one network's channels
// of a channel-stacked network), gathered into a contiguous block at its offset.
void unstackGroups(Ctx& c) {
  size_t rows = static_cast<size_t>(nonNegative(c.p, "rows"));
  size_t groups = static_cast<size_t>(positive(c.p, "groups"));
  size_t features = static_cast<size_t>(nonNegative(c.p, "features"));
  const auto& offsets = c.p.arr("offsets");
  float* dst = c.ptr(0);
  const float* src = c.ptr(1);
  parallelRange(c.threads(), rows * groups, std::max<size_t>(1, kSerialElems / std::max<size_t>(1, features)),
                [&](size_t lo, size_t hi) {
                  for (size_t i = lo; i < hi; i++) {
                    size_t r = i / groups, g = i % groups;
                    if (offsets[g] < 0) continue;
                    std::memcpy(dst + static_cast<size_t>(offsets[g]) + r * features, src + i * features, features * sizeof(float));
                  }
                });
}

// out = (acc or 0) + mask[c] * x over `inner` elements of channel c (x [N, C, inner]): one
// channel's run at a time, one multiply-add each (rounded once, as the WGSL's fma).
void maskedAdd(Ctx& c) {
  size_t channels = static_cast<size_t>(c.p.i("channels")), inner = static_cast<size_t>(c.p.i("inner"));
  bool hasAcc = c.p.i("acc") != 0;
  float* out = c.ptr(0);
  const float* x = c.ptr(1);
  const float* mask = c.ptr(2);
  const float* acc = c.ptr(3);
  parallelRange(c.threads(), count(c.p) / inner, std::max<size_t>(1, kSerialElems / inner), [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; r++) {
      float m = mask[r % channels];
      size_t o = r * inner;
      if (hasAcc)
        for (size_t k = 0; k < inner; k++) out[o + k] = std::fma(m, x[o + k], acc[o + k]);
      else
        for (size_t k = 0; k < inner; k++) out[o + k] = m * x[o + k];
    }
  });
}

}  // namespace

void registerElementwiseOps(Registry& r) {
  r["relu"] = unary("relu", reluK);
  r["relu6"] = unary("relu6", relu6K);
  r["abs"] = unary("abs", absK);
  r["signCodes"] = unary("signCodes", signK);
  r["reluBackward"] = binary("reluBackward", reluBwdK);
  r["relu6Backward"] = binary("relu6Backward", relu6BwdK);
  r["add"] = binary("add", addK);
  r["mul"] = binary("mul", mulK);
  // scale: [x, y], y = s x.
  r["scale"] = {"scale", 2, eachHoldsN(2), [](Ctx& c) {
                  float s = static_cast<float>(c.p.f("s"));
                  const float* x = c.ptr(0);
                  float* y = c.ptr(1);
                  parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { scaleK(x + b, y + b, e - b, s); });
                }};
  // axpy: [y, x], y += alpha x (x may be y).
  r["axpy"] = {"axpy", 2, eachHoldsN(2), [](Ctx& c) {
                 float a = static_cast<float>(c.p.f("alpha"));
                 float* y = c.ptr(0);
                 const float* x = c.ptr(1);
                 parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { axpyK(y + b, x + b, e - b, a); });
               }};
  // fill: [t], t = value.
  r["fill"] = {"fill", 1, eachHoldsN(1), [](Ctx& c) {
                 float v = static_cast<float>(c.p.f("value"));
                 float* y = c.ptr(0);
                 parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { fillK(y + b, e - b, v); });
               }};
  // signCodesInPlace: [x].
  r["signCodesInPlace"] = {"signCodesInPlace", 1, eachHoldsN(1), [](Ctx& c) {
                             float* x = c.ptr(0);
                             parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { signK(x + b, x + b, e - b); });
                           }};
  // accumulateAbs: [dst, src], dst += weight |src|.
  r["accumulateAbs"] = {"accumulateAbs", 2, eachHoldsN(2), [](Ctx& c) {
                          float w = static_cast<float>(c.p.f("weight"));
                          float* y = c.ptr(0);
                          const float* x = c.ptr(1);
                          parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { accAbsK(y + b, x + b, e - b, w); });
                        }};
  // mixAccumulate: [y, o, probs], y = (overwrite ? 0 : y) + probs[k] o.
  r["mixAccumulate"] = {"mixAccumulate", 3,
                        [](const Params& p, const std::vector<size_t>& n) {
                          expectAtLeast(n, 0, count(p), "y");
                          expectAtLeast(n, 1, count(p), "o");
                          expectAtLeast(n, 2, static_cast<size_t>(nonNegative(p, "k")) + 1, "probs");
                        },
                        [](Ctx& c) {
                          float pk = c.ptr(2)[c.p.i("k")];
                          bool over = c.p.b("overwrite");
                          float* y = c.ptr(0);
                          const float* o = c.ptr(1);
                          parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { mixK(y + b, o + b, e - b, pk, over); });
                        }};
  // addBiasRows: [y, b], y[r, c] += b[c] over n elements of cols columns.
  r["addBiasRows"] = {"addBiasRows", 2,
                      [](const Params& p, const std::vector<size_t>& n) {
                        size_t cols = static_cast<size_t>(positive(p, "cols"));
                        if (count(p) % cols) throw OpError("n is not a multiple of cols");
                        expectAtLeast(n, 0, count(p), "y");
                        expectAtLeast(n, 1, cols, "b");
                      },
                      [](Ctx& c) {
                        size_t cols = static_cast<size_t>(c.p.i("cols"));
                        float* y = c.ptr(0);
                        const float* b = c.ptr(1);
                        parallelRange(c.threads(), count(c.p) / cols, std::max<size_t>(1, kSerialElems / cols), [&](size_t lo, size_t hi) {
                          for (size_t r = lo; r < hi; r++) addK(y + r * cols, b, y + r * cols, cols);
                        });
                      }};
  // setDiag: [c], the diagonal of each of B N x N matrices = 1.
  r["setDiag"] = {"setDiag", 1,
                  [](const Params& p, const std::vector<size_t>& n) {
                    expectAtLeast(n, 0, elems({nonNegative(p, "B"), nonNegative(p, "N"), nonNegative(p, "N")}), "c");
                  },
                  [](Ctx& c) {
                    int64_t B = c.p.i("B"), N = c.p.i("N");
                    float* m = c.ptr(0);
                    for (int64_t b = 0; b < B; b++)
                      for (int64_t i = 0; i < N; i++) m[(b * N + i) * N + i] = 1.0f;
                  }};
  // copy: [src, dst], dst[dstOffset ..] = src[srcOffset ..] for elems elements.
  r["copy"] = {"copy", 2,
               [](const Params& p, const std::vector<size_t>& n) {
                 size_t e = static_cast<size_t>(nonNegative(p, "elems"));
                 expectAtLeast(n, 0, static_cast<size_t>(nonNegative(p, "srcOffset")) + e, "src");
                 expectAtLeast(n, 1, static_cast<size_t>(nonNegative(p, "dstOffset")) + e, "dst");
               },
               [](Ctx& c) {
                 size_t e = static_cast<size_t>(c.p.i("elems"));
                 const float* s = c.ptr(0) + c.p.i("srcOffset");
                 float* d = c.ptr(1) + c.p.i("dstOffset");
                 if (c.t[0] == c.t[1]) std::memmove(d, s, e * sizeof(float));
                 else parallelElems(c.threads(), e, [&](size_t b, size_t x) { std::memcpy(d + b, s + b, (x - b) * sizeof(float)); });
               }};
  // accumulateAbsBatched: [dst, src].
  r["accumulateAbsBatched"] = {"accumulateAbsBatched", 2,
                               [](const Params& p, const std::vector<size_t>& n) {
                                 size_t nn = elems({positive(p, "n"), positive(p, "n")});
                                 size_t slots = static_cast<size_t>(positive(p, "slots"));
                                 int64_t outs = p.i("outs", 1);
                                 if (outs < 1 || outs > 3) throw OpError("outs must be 1, 2 or 3");
                                 const auto& ls = p.arr("layerSlots");
                                 if (p.arr("weights").size() != ls.size()) throw OpError("one weight per layer");
                                 if (outs == 3 && p.arr("weights2").size() != ls.size()) throw OpError("one weights2 per layer");
                                 for (size_t l = 0; l < ls.size(); l++) {
                                   if (!(ls[l] >= 0 && ls[l] < static_cast<double>(slots) && std::floor(ls[l]) == ls[l]))
                                     throw OpError("layer " + std::to_string(l) + " has a slot outside [0, slots)");
                                   if (l && ls[l] < ls[l - 1]) throw OpError("layers must be sorted by slot");
                                 }
                                 expectAtLeast(n, 0, elems({static_cast<int64_t>(slots), outs, static_cast<int64_t>(nn)}), "dst");
                                 expectAtLeast(n, 1, elems({static_cast<int64_t>(ls.size()), static_cast<int64_t>(nn)}), "src");
                               },
                               accumulateAbsBatched};
  // maskedAdd: [out, x, mask, acc] (acc read only with acc=1).
  r["maskedAdd"] = {"maskedAdd", 4,
                    [](const Params& p, const std::vector<size_t>& n) {
                      size_t channels = static_cast<size_t>(positive(p, "channels")), inner = static_cast<size_t>(positive(p, "inner"));
                      if (count(p) % (channels * inner)) throw OpError("n is not a multiple of channels x inner");
                      for (int i = 0; i < 2; i++) expectAtLeast(n, i, count(p), i ? "x" : "out");
                      expectAtLeast(n, 2, channels, "mask");
                      if (p.i("acc")) expectAtLeast(n, 3, count(p), "acc");
                    },
                    maskedAdd};
  // unstackGroups: [dst, src].
  r["unstackGroups"] = {"unstackGroups", 2,
                        [](const Params& p, const std::vector<size_t>& n) {
                          int64_t rows = nonNegative(p, "rows"), groups = positive(p, "groups"), features = nonNegative(p, "features");
                          const auto& offs = p.arr("offsets");
                          if (offs.size() != static_cast<size_t>(groups)) throw OpError("one offset per group");
                          size_t block = elems({rows, features});
                          for (size_t g = 0; g < offs.size(); g++) {
                            double o = offs[g];
                            if (o == -1) continue;
                            if (!(o >= 0 && std::floor(o) == o)) throw OpError("offset " + std::to_string(g) + " is not -1 or a non-negative integer");
                            expectAtLeast(n, 0, static_cast<size_t>(o) + block, "dst");
                          }
                          expectAtLeast(n, 1, elems({rows, groups, features}), "src");
                        },
                        unstackGroups};
}

}  // namespace wgnas::compute
