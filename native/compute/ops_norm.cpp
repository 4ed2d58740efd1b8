// Normalisations, hand-written over plain NCHW: training-mode batch norm (batch statistics, biased
// variance; per channel, threads over channels) and the centred unit-norm rows of the correlation
// proxies. Statistics accumulate in double over f32 blocks (simd.hpp), so they match the f64
// references to f32 rounding. Element loops use runtime ISA dispatch.
#include <algorithm>
#include <cmath>
#include <vector>

#include "op.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {
namespace {

struct BnShape {
  int64_t N, C, HW;
  bool gamma, beta;
  size_t numel() const { return elems({N, C, HW}); }
  size_t perChannel() const { return elems({N, HW}); }
};

BnShape readBn(const Params& p) {
  return {positive(p, "N"), positive(p, "C"), positive(p, "HW"), p.b("hasGamma"), p.b("hasBeta")};
}

// Channels per chunk so that a chunk holds at least kSerialElems elements.
size_t channelGrain(const BnShape& s) { return std::max<size_t>(1, kSerialElems / std::max<size_t>(1, s.perChannel())); }

// One channel's N planes of HW elements at stride planeStride. A whole channel is one cloned call,
// so that small planes (8 x 8 px: 64 elements) do not pay a dispatch per plane.
struct ChannelView {
  size_t N, HW, planeStride;
};

// Batch mean and 1/sqrt(var + eps) of one channel: one definition for every forward that needs them,
// so the plain and the fused (ReLU6) forward produce the same statistics bit for bit. Its sums run
// chunkSum's four vector chains: blockedSum's one chain was latency-bound (1.0-1.2x less time for
// the forward, 1.05-1.08x for the backward's sums at NB201's shapes; one pass that merged each
// plane's centred moments instead of two passes was 10-15% slower: a channel's second pass reads L2).
// Always inlined, so each ISA clone of its callers keeps its own vectorised copy (as blockedSum is).
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void bnChannelStats(const ChannelView& v, const float* x, float eps, float* mean, float* invStd) {
  const double M = static_cast<double>(v.N * v.HW);
  double sum = 0;
  for (size_t n = 0; n < v.N; n++)
    for (size_t lo = 0; lo < v.HW; lo += kSumChunk) {
      const float* p = x + n * v.planeStride + lo;
      sum += chunkSum(std::min(kSumChunk, v.HW - lo), [p](size_t i) { return p[i]; });
    }
  float m = static_cast<float>(sum / M);
  double ss = 0;
  for (size_t n = 0; n < v.N; n++)
    for (size_t lo = 0; lo < v.HW; lo += kSumChunk) {
      const float* p = x + n * v.planeStride + lo;
      ss += chunkSum(std::min(kSumChunk, v.HW - lo), [p, m](size_t i) { return (p[i] - m) * (p[i] - m); });
    }
  *mean = m;
  *invStd = static_cast<float>(1.0 / std::sqrt(ss / M + eps));
}

// The forward both batch norms share: batch statistics of one channel (bnChannelStats), then
// y = f(x a + b) with a = γ / σ, b = β - μ a. Always inlined, as bnChannelStats, so each ISA clone
// of the callers vectorises its own copy with f in it.
template <class F>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void bnForwardApply(const ChannelView& v, const float* x, float* y, float eps, float gamma, float beta, float* mean,
                           float* invStd, F f) {
  float m, is;
  bnChannelStats(v, x, eps, &m, &is);
  *mean = m;
  *invStd = is;
  float a = is * gamma, b = beta - m * a;
  for (size_t n = 0; n < v.N; n++) {
    const float* p = x + n * v.planeStride;
    float* q = y + n * v.planeStride;
    for (size_t i = 0; i < v.HW; i++) q[i] = f(p[i] * a + b);
  }
}

// Batch statistics of one channel and y = x a + b.
WGNAS_CLONES void bnForwardChannel(const ChannelView& v, const float* x, float* y, float eps, float gamma, float beta,
                                   float* mean, float* invStd) {
  bnForwardApply(v, x, y, eps, gamma, beta, mean, invStd, [](float t) { return t; });
}

// The tail both backwards share: dβ = Σ dy, dγ = Σ dy x̂ from the sums, then
// dx = a dy + b (x - m) + k, with dy read from g (the masked dy staged in dx itself for ReLU6).
// Always inlined, as bnChannelStats, so each ISA clone of the callers vectorises its own copy.
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void bnBackwardApply(const ChannelView& v, const float* g, const float* x, float* dx, float m, float is, float gamma,
                            double sdy, double sdyxm, float* dgamma, float* dbeta) {
  const double M = static_cast<double>(v.N * v.HW);
  double sdyx = sdyxm * is;
  *dbeta = static_cast<float>(sdy);
  *dgamma = static_cast<float>(sdyx);
  double gi = gamma * static_cast<double>(is);
  float a = static_cast<float>(gi);
  float b = static_cast<float>(-gi * is * sdyx / M);
  float k = static_cast<float>(-gi * sdy / M);
  for (size_t n = 0; n < v.N; n++) {
    const float* d = g + n * v.planeStride;
    const float* p = x + n * v.planeStride;
    float* q = dx + n * v.planeStride;
    for (size_t i = 0; i < v.HW; i++) q[i] = a * d[i] + b * (p[i] - m) + k;
  }
}

// dβ = Σ dy, dγ = Σ dy x̂, dx = γ σ⁻¹ (dy - dβ / M - x̂ dγ / M) for one channel.
WGNAS_CLONES void bnBackwardChannel(const ChannelView& v, const float* dy, const float* x, float* dx, float m, float is,
                                    float gamma, float* dgamma, float* dbeta) {
  double sdy = 0, sdyxm = 0;  // Σ dy, Σ dy (x - m)
  for (size_t n = 0; n < v.N; n++) {
    const float* g = dy + n * v.planeStride;
    const float* p = x + n * v.planeStride;
    for (size_t lo = 0; lo < v.HW; lo += kSumChunk) {
      const float* gc = g + lo;
      const float* pc = p + lo;
      double a, b;
      chunkSum2(std::min(kSumChunk, v.HW - lo), [gc](size_t i) { return gc[i]; },
                [gc, pc, m](size_t i) { return gc[i] * (pc[i] - m); }, &a, &b);
      sdy += a;
      sdyxm += b;
    }
  }
  bnBackwardApply(v, dy, x, dx, m, is, gamma, sdy, sdyxm, dgamma, dbeta);
}

// relu6(batch norm) of one channel without the batch norm's output: z = min(max(x a + b, 0), 6),
// with bnForwardChannel's statistics.
WGNAS_CLONES void bnRelu6ForwardChannel(const ChannelView& v, const float* x, float* z, float eps, float gamma, float beta,
                                        float* mean, float* invStd) {
  bnForwardApply(v, x, z, eps, gamma, beta, mean, invStd, [](float t) { return std::min(std::max(t, 0.0f), 6.0f); });
}

// The gradients of z = relu6(bn(x)) for one channel: bnBackwardChannel with dy = dz where
// 0 < x a + b < 6 (the ReLU6 mask recomputed from x as the forward computed it), else 0. Reading
// x instead of a stored batch-norm output saves a tensor and a pass over memory. The masked dy is
// staged in dx, plane by plane (L1-resident), so that every loop is a plain vector loop.
WGNAS_CLONES void bnRelu6BackwardChannel(const ChannelView& v, const float* dz, const float* x, float* dx, float m, float is,
                                         float gamma, float beta, float* dgamma, float* dbeta) {
  const float fa = is * gamma, fb = beta - m * fa;
  double sdy = 0, sdyxm = 0;
  for (size_t n = 0; n < v.N; n++) {
    const float* d = dz + n * v.planeStride;
    const float* p = x + n * v.planeStride;
    float* g = dx + n * v.planeStride;
    for (size_t i = 0; i < v.HW; i++) {
      float y = p[i] * fa + fb;
      g[i] = y > 0.0f && y < 6.0f ? d[i] : 0.0f;
    }
    double a, b;
    blockedSum2(v.HW, [g](size_t i) { return g[i]; }, [g, p, m](size_t i) { return g[i] * (p[i] - m); }, &a, &b);
    sdy += a;
    sdyxm += b;
  }
  bnBackwardApply(v, dx, x, dx, m, is, gamma, sdy, sdyxm, dgamma, dbeta);
}

// Planes of at most kSmallPlane pixels (MBConv's last stages: 4x4, 2x2) take the loops below: the
// per-channel functions above pay a vector loop's setup and reduction per plane, more than a plane
// of 4-16 elements costs (measured at batch 32, 288 channels of 2x2: 2 GB/s against ~60 GB/s at
// 16x16). These walk memory in order (image, channel, pixel) over a range of channels with
// per-channel accumulators; the same sums (an f32 partial per plane, added in double) in another
// order of additions within a plane. The per-plane sums are vector reductions (omp simd): as
// scalar loops they ran at one add per FP latency (64 px: ~250 cycles a plane and pass).
constexpr size_t kSmallPlane = 64;

struct SmallBn {
  size_t N, C, HW, c0, c1;  // the tensor's shape and the channel range [c0, c1) to process
  const float* plane(const float* t, size_t n, size_t c) const { return t + (n * C + c) * HW; }
  float* plane(float* t, size_t n, size_t c) const { return t + (n * C + c) * HW; }
};

WGNAS_CLONES void bnForwardSmall(const SmallBn& v, const float* x, float* y, float eps, const float* gamma, const float* beta,
                                 float* mean, float* invStd, bool relu6) {
  const size_t K = v.c1 - v.c0;
  const double M = static_cast<double>(v.N * v.HW);
  std::vector<double> acc(K, 0.0);
  std::vector<float> m(K);
  for (size_t n = 0; n < v.N; n++) {
    for (size_t k = 0; k < K; k++) {
      const float* p = v.plane(x, n, v.c0 + k);
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (size_t i = 0; i < v.HW; i++) s += p[i];
      acc[k] += s;
    }
  }
  for (size_t k = 0; k < K; k++) {
    m[k] = static_cast<float>(acc[k] / M);
    acc[k] = 0;
  }
  for (size_t n = 0; n < v.N; n++) {
    for (size_t k = 0; k < K; k++) {
      const float* p = v.plane(x, n, v.c0 + k);
      const float mk = m[k];
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (size_t i = 0; i < v.HW; i++) s += (p[i] - mk) * (p[i] - mk);
      acc[k] += s;
    }
  }
  // Per-element coefficients: for one image the channel range is one contiguous run of K HW
  // floats, so the output pass is one branch-free vector loop per image (a scalar clamp per pixel
  // mispredicted its branches: ~20 cycles an element).
  std::vector<float> a(K * v.HW), b(K * v.HW);
  for (size_t k = 0; k < K; k++) {
    size_t ch = v.c0 + k;
    float is = static_cast<float>(1.0 / std::sqrt(acc[k] / M + eps));
    mean[ch] = m[k];
    invStd[ch] = is;
    float ak = is * (gamma ? gamma[ch] : 1.0f);
    float bk = (beta ? beta[ch] : 0.0f) - m[k] * ak;
    std::fill(a.begin() + k * v.HW, a.begin() + (k + 1) * v.HW, ak);
    std::fill(b.begin() + k * v.HW, b.begin() + (k + 1) * v.HW, bk);
  }
  const size_t run = K * v.HW;
  const float* pa = a.data();
  const float* pb = b.data();
  for (size_t n = 0; n < v.N; n++) {
    const float* p = v.plane(x, n, v.c0);
    float* q = v.plane(y, n, v.c0);
    if (relu6) {
      for (size_t j = 0; j < run; j++) {
        float t = p[j] * pa[j] + pb[j];
        t = t > 0.0f ? t : 0.0f;
        q[j] = t < 6.0f ? t : 6.0f;
      }
    } else {
      for (size_t j = 0; j < run; j++) q[j] = p[j] * pa[j] + pb[j];
    }
  }
}

// bnBackwardChannel / bnRelu6BackwardChannel over small planes (the ReLU6-masked dy staged in dx).
WGNAS_CLONES void bnBackwardSmall(const SmallBn& v, const float* dy, const float* x, float* dx, const float* mean,
                                  const float* invStd, const float* gamma, const float* beta, float* dgamma, float* dbeta,
                                  bool relu6) {
  const size_t K = v.c1 - v.c0, HW = v.HW, run = K * HW;
  const double M = static_cast<double>(v.N * HW);
  std::vector<double> sdy(K, 0.0), sdyxm(K, 0.0);
  // Per-element coefficients over one image's contiguous run of K HW floats (as bnForwardSmall).
  std::vector<float> mE(run), fa(run), fb(run), ca(run), cb(run), ck(run);
  for (size_t k = 0; k < K; k++) {
    size_t ch = v.c0 + k;
    float a = invStd[ch] * (gamma ? gamma[ch] : 1.0f);
    std::fill(mE.begin() + k * HW, mE.begin() + (k + 1) * HW, mean[ch]);
    std::fill(fa.begin() + k * HW, fa.begin() + (k + 1) * HW, a);
    std::fill(fb.begin() + k * HW, fb.begin() + (k + 1) * HW, (beta ? beta[ch] : 0.0f) - mean[ch] * a);
  }
  for (size_t n = 0; n < v.N; n++) {
    const float* d = v.plane(dy, n, v.c0);
    const float* p = v.plane(x, n, v.c0);
    const float* g = d;
    if (relu6) {
      float* gm = v.plane(dx, n, v.c0);
      for (size_t j = 0; j < run; j++) {
        float yv = p[j] * fa[j] + fb[j];
        gm[j] = (yv > 0.0f) & (yv < 6.0f) ? d[j] : 0.0f;
      }
      g = gm;
    }
    for (size_t k = 0; k < K; k++) {
      const float* gk = g + k * HW;
      const float* pk = p + k * HW;
      const float m = mE[k * HW];
      float s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
      for (size_t i = 0; i < HW; i++) {
        s1 += gk[i];
        s2 += gk[i] * (pk[i] - m);
      }
      sdy[k] += s1;
      sdyxm[k] += s2;
    }
  }
  for (size_t k = 0; k < K; k++) {
    size_t ch = v.c0 + k;
    double is = invStd[ch];
    double sdyx = sdyxm[k] * is;
    dbeta[ch] = static_cast<float>(sdy[k]);
    dgamma[ch] = static_cast<float>(sdyx);
    double gi = (gamma ? gamma[ch] : 1.0f) * is;
    std::fill(ca.begin() + k * HW, ca.begin() + (k + 1) * HW, static_cast<float>(gi));
    std::fill(cb.begin() + k * HW, cb.begin() + (k + 1) * HW, static_cast<float>(-gi * is * sdyx / M));
    std::fill(ck.begin() + k * HW, ck.begin() + (k + 1) * HW, static_cast<float>(-gi * sdy[k] / M));
  }
  for (size_t n = 0; n < v.N; n++) {
    const float* g = relu6 ? v.plane(dx, n, v.c0) : v.plane(dy, n, v.c0);
    const float* p = v.plane(x, n, v.c0);
    float* q = v.plane(dx, n, v.c0);
    for (size_t j = 0; j < run; j++) q[j] = ca[j] * g[j] + cb[j] * (p[j] - mE[j]) + ck[j];
  }
}

void bnForward(Ctx& c, bool relu6) {
  BnShape s = readBn(c.p);
  float eps = static_cast<float>(c.p.f("eps"));
  const float* x = c.ptr(0);
  float* y = c.ptr(1);
  float* mean = c.ptr(2);
  float* invStd = c.ptr(3);
  const float* g = s.gamma ? c.ptr(4) : nullptr;
  const float* bt = s.beta ? c.ptr(4 + (s.gamma ? 1 : 0)) : nullptr;
  const size_t HW = s.HW, C = s.C;
  if (HW <= kSmallPlane) {
    parallelRange(c.threads(), C, channelGrain(s), [&](size_t lo, size_t hi) {
      bnForwardSmall({static_cast<size_t>(s.N), C, HW, lo, hi}, x, y, eps, g, bt, mean, invStd, relu6);
    });
    return;
  }
  const ChannelView v{static_cast<size_t>(s.N), HW, C * HW};
  parallelRange(c.threads(), C, channelGrain(s), [&](size_t lo, size_t hi) {
    for (size_t ch = lo; ch < hi; ch++) {
      if (relu6) bnRelu6ForwardChannel(v, x + ch * HW, y + ch * HW, eps, g ? g[ch] : 1.0f, bt ? bt[ch] : 0.0f, mean + ch, invStd + ch);
      else bnForwardChannel(v, x + ch * HW, y + ch * HW, eps, g ? g[ch] : 1.0f, bt ? bt[ch] : 0.0f, mean + ch, invStd + ch);
    }
  });
}

void bnBackward(Ctx& c, bool relu6) {
  BnShape s = readBn(c.p);
  const float* dy = c.ptr(0);
  const float* x = c.ptr(1);
  const float* mean = c.ptr(2);
  const float* invStd = c.ptr(3);
  float* dx = c.ptr(4);
  float* dgamma = c.ptr(5);
  float* dbeta = c.ptr(6);
  const float* g = s.gamma ? c.ptr(7) : nullptr;
  const float* bt = relu6 && s.beta ? c.ptr(7 + (s.gamma ? 1 : 0)) : nullptr;
  const size_t HW = s.HW, C = s.C;
  if (HW <= kSmallPlane) {
    parallelRange(c.threads(), C, channelGrain(s), [&](size_t lo, size_t hi) {
      bnBackwardSmall({static_cast<size_t>(s.N), C, HW, lo, hi}, dy, x, dx, mean, invStd, g, bt, dgamma, dbeta, relu6);
    });
    return;
  }
  const ChannelView v{static_cast<size_t>(s.N), HW, C * HW};
  parallelRange(c.threads(), C, channelGrain(s), [&](size_t lo, size_t hi) {
    for (size_t ch = lo; ch < hi; ch++) {
      if (relu6)
        bnRelu6BackwardChannel(v, dy + ch * HW, x + ch * HW, dx + ch * HW, mean[ch], invStd[ch], g ? g[ch] : 1.0f,
                               bt ? bt[ch] : 0.0f, dgamma + ch, dbeta + ch);
      else
        bnBackwardChannel(v, dy + ch * HW, x + ch * HW, dx + ch * HW, mean[ch], invStd[ch], g ? g[ch] : 1.0f, dgamma + ch,
                          dbeta + ch);
    }
  });
}

WGNAS_CLONES void centreScale(float* p, size_t n, float m, float scale) {
  for (size_t i = 0; i < n; i++) p[i] = (p[i] - m) * scale;
}

// Rows of x ([rows, D]) centred and scaled to unit norm in place; constant rows become 0.
void normalizeRows(Ctx& c) {
  size_t rows = static_cast<size_t>(nonNegative(c.p, "rows"));
  size_t D = static_cast<size_t>(positive(c.p, "D"));
  float* x = c.ptr(0);
  parallelRange(c.threads(), rows, std::max<size_t>(1, kSerialElems / D), [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; r++) {
      float* p = x + r * D;
      float m, scale;
      rowNormalizer(p, D, &m, &scale);
      centreScale(p, D, m, scale);
    }
  });
}

}  // namespace

void registerNormOps(Registry& r) {
  // batchNormForward: [x, y, mean, invStd, gamma?, beta?]; batchNormRelu6Forward: the same with
  // y = relu6(batch norm).
  auto checkForward = [](const Params& p, const std::vector<size_t>& n) {
    BnShape s = readBn(p);
    size_t want = 4 + (s.gamma ? 1 : 0) + (s.beta ? 1 : 0);
    if (n.size() != want) throw OpError("expected " + std::to_string(want) + " tensors");
    if (!(p.f("eps") > 0)) throw OpError("eps must be > 0");
    expectAtLeast(n, 0, s.numel(), "x");
    expectAtLeast(n, 1, s.numel(), "y");
    for (size_t i = 2; i < want; i++) expectAtLeast(n, i, static_cast<size_t>(s.C), "a per-channel tensor");
  };
  r["batchNormForward"] = {"batchNormForward", -1, checkForward, [](Ctx& c) { bnForward(c, false); }};
  r["batchNormRelu6Forward"] = {"batchNormRelu6Forward", -1, checkForward, [](Ctx& c) { bnForward(c, true); }};
  // batchNormBackward: [dy, x, mean, invStd, dx, dgamma, dbeta, gamma?]; batchNormRelu6Backward:
  // [dz, x, mean, invStd, dx, dgamma, dbeta, gamma?, beta?] (beta and gamma rebuild the mask).
  auto checkBackward = [](bool relu6) {
    return [relu6](const Params& p, const std::vector<size_t>& n) {
      BnShape s = readBn(p);
      size_t want = 7 + (s.gamma ? 1 : 0) + (relu6 && s.beta ? 1 : 0);
      if (n.size() != want) throw OpError("expected " + std::to_string(want) + " tensors");
      for (size_t i : {0, 1, 4}) expectAtLeast(n, i, s.numel(), "dy / x / dx");
      for (size_t i : {2, 3, 5, 6}) expectAtLeast(n, i, static_cast<size_t>(s.C), "a per-channel tensor");
      for (size_t i = 7; i < want; i++) expectAtLeast(n, i, static_cast<size_t>(s.C), "gamma / beta");
    };
  };
  r["batchNormBackward"] = {"batchNormBackward", -1, checkBackward(false), [](Ctx& c) { bnBackward(c, false); }};
  r["batchNormRelu6Backward"] = {"batchNormRelu6Backward", -1, checkBackward(true), [](Ctx& c) { bnBackward(c, true); }};
  // normalizeRows: [x] in place.
  r["normalizeRows"] = {"normalizeRows", 1,
                        [](const Params& p, const std::vector<size_t>& n) {
                          expectAtLeast(n, 0, elems({nonNegative(p, "rows"), positive(p, "D")}), "x");
                        },
                        normalizeRows};
}

}  // namespace wgnas::compute
