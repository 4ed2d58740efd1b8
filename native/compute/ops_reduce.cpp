// Reductions (full sums to one value, row / column / slice sums), average pooling and the softmax
// cross-entropy loss, hand-written. Sums accumulate in double; the full reductions split the data
// into fixed per-thread chunks, so a result does not depend on scheduling.
#include <algorithm>
#include <cmath>
#include <limits>

#include "avgpool_same.hpp"
#include "op.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {
namespace {

size_t count(const Params& p, const char* k = "n") { return static_cast<size_t>(nonNegative(p, k)); }

struct PoolShape {
  int64_t planes, H, W, OH, OW, k, stride, pad;
  bool includePad;
};

PoolShape readPool(const Params& p) {
  PoolShape s{nonNegative(p, "planes"), positive(p, "H"), positive(p, "W"), positive(p, "OH"), positive(p, "OW"),
              positive(p, "kernel"), positive(p, "stride"), nonNegative(p, "pad"), p.b("countIncludePad", true)};
  if ((s.H + 2 * s.pad - s.k) / s.stride + 1 != s.OH || (s.W + 2 * s.pad - s.k) / s.stride + 1 != s.OW)
    throw OpError("OH/OW do not match the pooling window");
  return s;
}

// The window of output o along one axis: [lo, hi) inside the input and the padded count.
inline void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size, int64_t& lo, int64_t& hi, int64_t& padded) {
  int64_t s = o * stride - pad;
  int64_t ePad = std::min(s + k, size + pad);
  lo = std::max<int64_t>(s, 0);
  hi = std::min(ePad, size);
  padded = ePad - s;
}

// out[o] = sum of in[i] over i in [o + start, o + start + k) ∩ [0, n): a 1-D box sum with clipping,
// tap by tap (each tap one contiguous vector loop over the outputs it reaches; the same additions
// in the same order as summing each window in turn).
inline void boxSum(const float* in, int64_t n, float* out, int64_t nOut, int64_t start, int64_t k) {
  std::fill(out, out + nOut, 0.0f);
  for (int64_t j = 0; j < k; j++) {
    const int64_t off = start + j;
    const int64_t lo = std::max<int64_t>(0, -off), hi = std::min<int64_t>(nOut, n - off);
#pragma omp simd
    for (int64_t o = lo; o < hi; o++) out[o] += in[o + off];
  }
}

// Reciprocal window counts along one axis (exclude-pad: the window inside the input; include-pad:
// the padded window, as PyTorch counts it).
inline void invCounts(const PoolShape& s, int64_t size, int64_t outSize, std::vector<float>& inv) {
  inv.resize(static_cast<size_t>(outSize));
  for (int64_t o = 0; o < outSize; o++) {
    int64_t lo, hi, padded;
    window(o, s.stride, s.pad, s.k, size, lo, hi, padded);
    inv[static_cast<size_t>(o)] = 1.0f / static_cast<float>(s.includePad ? padded : hi - lo);
  }
}

// Stride-1 pooling is separable: box sums along the rows, then along the columns, then the count.
// (NAS-Bench-201's 3x3 cell pool: ~10x faster than summing each 3x3 window.)
void avgPoolPlaneS1(const PoolShape& s, const float* x, float* y, const float* invH, const float* invW, float* rows) {
  for (int64_t h = 0; h < s.H; h++) boxSum(x + h * s.W, s.W, rows + h * s.OW, s.OW, -s.pad, s.k);
  for (int64_t oh = 0; oh < s.OH; oh++) {
    int64_t lo = std::max<int64_t>(oh - s.pad, 0), hi = std::min<int64_t>(oh - s.pad + s.k, s.H);
    float* yr = y + oh * s.OW;
    std::fill(yr, yr + s.OW, 0.0f);
    for (int64_t h = lo; h < hi; h++) {
      const float* r = rows + h * s.OW;
#pragma omp simd
      for (int64_t ow = 0; ow < s.OW; ow++) yr[ow] += r[ow];
    }
    float ih = invH[oh];
#pragma omp simd
    for (int64_t ow = 0; ow < s.OW; ow++) yr[ow] *= ih * invW[ow];
  }
}

// The adjoint: scale dy by the counts, then box sums with the transposed windows (the outputs o
// whose window holds input i are o in [i + pad - k + 1, i + pad]).
void avgPoolBackwardPlaneS1(const PoolShape& s, const float* dy, float* dx, const float* invH, const float* invW, float* rows) {
  for (int64_t h = 0; h < s.H; h++) {
    float* dr = dx + h * s.W;
    std::fill(dr, dr + s.W, 0.0f);
  }
  // rows[oh][w] = sum over ow whose window holds w of dy[oh][ow] * invW[ow]
  std::vector<float> g(static_cast<size_t>(s.OW));
  for (int64_t oh = 0; oh < s.OH; oh++) {
    const float* d = dy + oh * s.OW;
    float ih = invH[oh];
    for (int64_t ow = 0; ow < s.OW; ow++) g[static_cast<size_t>(ow)] = d[ow] * ih * invW[ow];
    boxSum(g.data(), s.OW, rows + oh * s.W, s.W, s.pad - s.k + 1, s.k);
  }
  for (int64_t h = 0; h < s.H; h++) {
    int64_t lo = std::max<int64_t>(h + s.pad - s.k + 1, 0), hi = std::min<int64_t>(h + s.pad + 1, s.OH);
    float* dr = dx + h * s.W;
    for (int64_t oh = lo; oh < hi; oh++) {
      const float* r = rows + oh * s.W;
#pragma omp simd
      for (int64_t w = 0; w < s.W; w++) dr[w] += r[w];
    }
  }
}

void avgPoolPlane(const PoolShape& s, const float* x, float* y) {
  for (int64_t oh = 0; oh < s.OH; oh++) {
    int64_t h0, h1, hp;
    window(oh, s.stride, s.pad, s.k, s.H, h0, h1, hp);
    for (int64_t ow = 0; ow < s.OW; ow++) {
      int64_t w0, w1, wp;
      window(ow, s.stride, s.pad, s.k, s.W, w0, w1, wp);
      float acc = 0;
      for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0; w < w1; w++) acc += x[h * s.W + w];
      int64_t cnt = s.includePad ? hp * wp : (h1 - h0) * (w1 - w0);
      y[oh * s.OW + ow] = acc / static_cast<float>(cnt);
    }
  }
}

void avgPoolBackwardPlane(const PoolShape& s, const float* dy, float* dx) {
  std::fill(dx, dx + s.H * s.W, 0.0f);
  for (int64_t oh = 0; oh < s.OH; oh++) {
    int64_t h0, h1, hp;
    window(oh, s.stride, s.pad, s.k, s.H, h0, h1, hp);
    for (int64_t ow = 0; ow < s.OW; ow++) {
      int64_t w0, w1, wp;
      window(ow, s.stride, s.pad, s.k, s.W, w0, w1, wp);
      int64_t cnt = s.includePad ? hp * wp : (h1 - h0) * (w1 - w0);
      float g = dy[oh * s.OW + ow] / static_cast<float>(cnt);
      for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0; w < w1; w++) dx[h * s.W + w] += g;
    }
  }
}

// avgPool2d ([x, y]) and avgPool2dBackward ([dy, dx]): the same-shape loops where they apply, else
// plane by plane over the threads (stride 1: the separable loops, with a per-thread row buffer).
template <bool Backward>
void avgPool(Ctx& c) {
  PoolShape s = readPool(c.p);
  if (s.planes == 0) return;
  if (samePoolShape(s.H, s.W, s.OH, s.OW, s.k, s.stride, s.pad)) {
    const SamePool same{s.planes, s.H, s.W, s.k, s.pad, s.includePad};
    return Backward ? avgPoolSameBackward(c.threads(), same, c.ptr(0), c.ptr(1)) : avgPoolSameForward(c.threads(), same, c.ptr(0), c.ptr(1));
  }
  const float* in = c.ptr(0);
  float* out = c.ptr(1);
  const int64_t inPlane = Backward ? s.OH * s.OW : s.H * s.W, outPlane = Backward ? s.H * s.W : s.OH * s.OW;
  size_t grain = std::max<size_t>(1, kSerialElems / static_cast<size_t>(s.H * s.W));
  std::vector<float> invH, invW;
  invCounts(s, s.H, s.OH, invH);
  invCounts(s, s.W, s.OW, invW);
  parallelRange(c.threads(), static_cast<size_t>(s.planes), grain, [&](size_t lo, size_t hi) {
    std::vector<float> rows(s.stride == 1 ? static_cast<size_t>(Backward ? s.OH * s.W : s.H * s.OW) : 0);
    for (size_t pl = lo; pl < hi; pl++) {
      const float* i = in + pl * inPlane;
      float* o = out + pl * outPlane;
      if (s.stride == 1) (Backward ? avgPoolBackwardPlaneS1 : avgPoolPlaneS1)(s, i, o, invH.data(), invW.data(), rows.data());
      else (Backward ? avgPoolBackwardPlane : avgPoolPlane)(s, i, o);
    }
  });
}

// With label smoothing eps the target is (1 - eps) onehot + eps / K: the loss takes (1 - eps) times
// the label's logit and eps / K times the row's sum off the log-sum-exp (eps = 0: the plain loss).
// Everything in f64 from the f32 logits, as the host's smoothedCrossEntropy (src/nn/loss.ts) computes
// it: dlogits = (exp(l - logZ) - target) / N, l - max exact in f64, so the f32 gradient is the host's
// f32-rounded one (the trainer's step on the device equals its former host-loss step bit for bit).
void softmaxCrossEntropy(Ctx& c) {
  int64_t N = positive(c.p, "N"), K = positive(c.p, "K");
  const double eps = c.p.f("smoothing", 0);
  const float* logits = c.ptr(0);
  const float* labels = c.ptr(1);
  float* loss = c.ptr(2);
  float* dl = c.ptr(3);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<double> rowLoss(static_cast<size_t>(N));
  parallelRange(c.threads(), static_cast<size_t>(N), std::max<size_t>(1, kSerialElems / 8 / K), [&](size_t lo, size_t hi) {
    for (size_t n = lo; n < hi; n++) {
      const float* l = logits + n * K;
      float* d = dl + n * K;
      float lf = labels[n];
      bool valid = lf >= 0 && lf < static_cast<float>(K) && std::floor(lf) == lf;
      if (!valid) {
        std::fill(d, d + K, nan);
        rowLoss[n] = nan;
        continue;
      }
      int64_t label = static_cast<int64_t>(lf);
      const double m = *std::max_element(l, l + K);
      double s = 0;
      for (int64_t k = 0; k < K; k++) s += std::exp(static_cast<double>(l[k]) - m);
      const double logZ = std::log(s) + m;
      rowLoss[n] = logZ - l[label];
      if (eps != 0) {
        double sum = 0;
        for (int64_t k = 0; k < K; k++) sum += l[k];
        rowLoss[n] = logZ - (1 - eps) * l[label] - eps / static_cast<double>(K) * sum;
      }
      const double Nd = static_cast<double>(N);
      for (int64_t k = 0; k < K; k++) {
        double target = (k == label ? 1 - eps : 0.0) + eps / static_cast<double>(K);
        d[k] = static_cast<float>((std::exp(static_cast<double>(l[k]) - logZ) - target) / Nd);
      }
    }
  });
  double total = 0;
  for (double v : rowLoss) total += v;
  loss[0] = static_cast<float>(total / static_cast<double>(N));
}

}  // namespace

void registerReduceOps(Registry& r) {
  // sum: [x, out], out[0] = scale Σ x.
  r["sum"] = {"sum", 2,
              [](const Params& p, const std::vector<size_t>& n) {
                expectAtLeast(n, 0, count(p), "x");
                expectAtLeast(n, 1, 1, "out");
              },
              [](Ctx& c) {
                const float* x = c.ptr(0);
                double s = reduceAll(c.threads(), count(c.p), [&](size_t b, size_t e) { return sumF(x + b, e - b); });
                c.ptr(1)[0] = static_cast<float>(s * c.p.f("scale", 1));
              }};
  r["sumSquares"] = {"sumSquares", 2,
                     [](const Params& p, const std::vector<size_t>& n) {
                       expectAtLeast(n, 0, count(p), "x");
                       expectAtLeast(n, 1, 1, "out");
                     },
                     [](Ctx& c) {
                       const float* x = c.ptr(0);
                       c.ptr(1)[0] = static_cast<float>(reduceAll(c.threads(), count(c.p), [&](size_t b, size_t e) { return sumSqF(x + b, e - b); }));
                     }};
  // sumAbsProduct: [a, b, out].
  r["sumAbsProduct"] = {"sumAbsProduct", 3,
                        [](const Params& p, const std::vector<size_t>& n) {
                          expectAtLeast(n, 0, count(p), "a");
                          expectAtLeast(n, 1, count(p), "b");
                          expectAtLeast(n, 2, 1, "out");
                        },
                        [](Ctx& c) {
                          const float* a = c.ptr(0);
                          const float* b = c.ptr(1);
                          c.ptr(2)[0] =
                              static_cast<float>(reduceAll(c.threads(), count(c.p), [&](size_t lo, size_t hi) { return sumAbsProdF(a + lo, b + lo, hi - lo); }));
                        }};
  // gateDot: [a, b, out], out[index] = scale Σ a b.
  r["gateDot"] = {"gateDot", 3,
                  [](const Params& p, const std::vector<size_t>& n) {
                    expectAtLeast(n, 0, count(p), "a");
                    expectAtLeast(n, 1, count(p), "b");
                    expectAtLeast(n, 2, static_cast<size_t>(nonNegative(p, "index")) + 1, "out");
                  },
                  [](Ctx& c) {
                    const float* a = c.ptr(0);
                    const float* b = c.ptr(1);
                    double s = reduceAll(c.threads(), count(c.p), [&](size_t lo, size_t hi) { return dotF(a + lo, b + lo, hi - lo); });
                    c.ptr(2)[c.p.i("index")] = static_cast<float>(s * c.p.f("scale", 1));
                  }};
  // dotPartials: [a, b, partials], partials[g] = Σ a b over elements [g chunk, (g + 1) chunk) of n.
  r["dotPartials"] = {"dotPartials", 3,
                      [](const Params& p, const std::vector<size_t>& n) {
                        size_t chunk = static_cast<size_t>(positive(p, "chunk"));
                        expectAtLeast(n, 0, count(p), "a");
                        expectAtLeast(n, 1, count(p), "b");
                        expectAtLeast(n, 2, (count(p) + chunk - 1) / chunk, "partials");
                      },
                      [](Ctx& c) {
                        size_t n = count(c.p), chunk = static_cast<size_t>(c.p.i("chunk"));
                        const float* a = c.ptr(0);
                        const float* b = c.ptr(1);
                        float* out = c.ptr(2);
                        size_t groups = (n + chunk - 1) / chunk;
                        parallelRange(c.threads(), groups, std::max<size_t>(1, kSerialElems / chunk), [&](size_t lo, size_t hi) {
                          for (size_t g = lo; g < hi; g++) out[g] = static_cast<float>(dotF(a + g * chunk, b + g * chunk, std::min(chunk, n - g * chunk)));
                        });
                      }};
  // rowSums: [x, out], out[r] = scale Σ_c x[r, c].
  r["rowSums"] = {"rowSums", 2,
                  [](const Params& p, const std::vector<size_t>& n) {
                    expectAtLeast(n, 0, elems({nonNegative(p, "rows"), positive(p, "cols")}), "x");
                    expectAtLeast(n, 1, count(p, "rows"), "out");
                  },
                  [](Ctx& c) {
                    size_t rows = count(c.p, "rows"), cols = static_cast<size_t>(c.p.i("cols"));
                    double scale = c.p.f("scale", 1);
                    const float* x = c.ptr(0);
                    float* out = c.ptr(1);
                    parallelRange(c.threads(), rows, std::max<size_t>(1, kSerialElems / cols), [&](size_t lo, size_t hi) {
                      for (size_t r = lo; r < hi; r++) out[r] = static_cast<float>(scale * sumF(x + r * cols, cols));
                    });
                  }};
  // colSums: [x, out], out[c] = scale Σ_r x[r, c].
  r["colSums"] = {"colSums", 2,
                  [](const Params& p, const std::vector<size_t>& n) {
                    expectAtLeast(n, 0, elems({nonNegative(p, "rows"), positive(p, "cols")}), "x");
                    expectAtLeast(n, 1, static_cast<size_t>(positive(p, "cols")), "out");
                  },
                  [](Ctx& c) {
                    size_t rows = count(c.p, "rows"), cols = static_cast<size_t>(c.p.i("cols"));
                    double scale = c.p.f("scale", 1);
                    const float* x = c.ptr(0);
                    float* out = c.ptr(1);
                    parallelRange(c.threads(), cols, std::max<size_t>(16, kSerialElems / std::max<size_t>(rows, 1)), [&](size_t lo, size_t hi) {
                      std::vector<double> acc(hi - lo, 0.0);
                      for (size_t r = 0; r < rows; r++)
                        for (size_t j = lo; j < hi; j++) acc[j - lo] += x[r * cols + j];
                      for (size_t j = lo; j < hi; j++) out[j] = static_cast<float>(scale * acc[j - lo]);
                    });
                  }};
  // sumSlices: [x, out], out[i] = scale Σ_s x[s n + i].
  r["sumSlices"] = {"sumSlices", 2,
                    [](const Params& p, const std::vector<size_t>& n) {
                      expectAtLeast(n, 0, elems({nonNegative(p, "n"), nonNegative(p, "slices")}), "x");
                      expectAtLeast(n, 1, count(p), "out");
                    },
                    [](Ctx& c) {
                      size_t n = count(c.p), slices = count(c.p, "slices");
                      double scale = c.p.f("scale", 1);
                      const float* x = c.ptr(0);
                      float* out = c.ptr(1);
                      parallelElems(c.threads(), n, [&](size_t lo, size_t hi) {
                        for (size_t i = lo; i < hi; i++) {
                          double s = 0;
                          for (size_t k = 0; k < slices; k++) s += x[k * n + i];
                          out[i] = static_cast<float>(scale * s);
                        }
                      });
                    }};
  // avgPool2d: [x, y] over `planes` H x W planes.
  r["avgPool2d"] = {"avgPool2d", 2,
                    [](const Params& p, const std::vector<size_t>& n) {
                      PoolShape s = readPool(p);
                      expectAtLeast(n, 0, elems({s.planes, s.H, s.W}), "x");
                      expectAtLeast(n, 1, elems({s.planes, s.OH, s.OW}), "y");
                    },
                    avgPool<false>};
  // avgPool2dBackward: [dy, dx].
  r["avgPool2dBackward"] = {"avgPool2dBackward", 2,
                            [](const Params& p, const std::vector<size_t>& n) {
                              PoolShape s = readPool(p);
                              expectAtLeast(n, 0, elems({s.planes, s.OH, s.OW}), "dy");
                              expectAtLeast(n, 1, elems({s.planes, s.H, s.W}), "dx");
                            },
                            avgPool<true>};
  // globalAvgPoolBackward: [dy, dx], dx[p, i] = scale dy[p] over `planes` planes of HW.
  r["globalAvgPoolBackward"] = {"globalAvgPoolBackward", 2,
                                [](const Params& p, const std::vector<size_t>& n) {
                                  expectAtLeast(n, 0, count(p, "planes"), "dy");
                                  expectAtLeast(n, 1, elems({nonNegative(p, "planes"), positive(p, "HW")}), "dx");
                                },
                                [](Ctx& c) {
                                  size_t planes = count(c.p, "planes"), hw = static_cast<size_t>(c.p.i("HW"));
                                  float scale = static_cast<float>(c.p.f("scale"));
                                  const float* dy = c.ptr(0);
                                  float* dx = c.ptr(1);
                                  parallelRange(c.threads(), planes, std::max<size_t>(1, kSerialElems / hw), [&](size_t lo, size_t hi) {
                                    for (size_t pl = lo; pl < hi; pl++) std::fill(dx + pl * hw, dx + (pl + 1) * hw, dy[pl] * scale);
                                  });
                                }};
  // softmaxCrossEntropy: [logits, labels, loss, dlogits].
  r["softmaxCrossEntropy"] = {"softmaxCrossEntropy", 4,
                              [](const Params& p, const std::vector<size_t>& n) {
                                size_t NK = elems({positive(p, "N"), positive(p, "K")});
                                expectAtLeast(n, 0, NK, "logits");
                                expectAtLeast(n, 1, static_cast<size_t>(positive(p, "N")), "labels");
                                expectAtLeast(n, 2, 1, "loss");
                                expectAtLeast(n, 3, NK, "dlogits");
                              },
                              softmaxCrossEntropy};
}

}  // namespace wgnas::compute
