#include "depthwise_small.hpp"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {
namespace {

// A plane of at most a few dozen pixels is too short for vector loops along its rows, so the loops
// run across images instead: one channel's planes of L consecutive images are transposed to
// [pixel][L], and each tap is one L-wide multiply-add (L = 16: one AVX-512 register).
constexpr int L = 16;

// The taps [lo, hi) of a window starting at `origin` (= o s - p) that land in [0, size).
struct TapRange {
  int64_t origin, lo, hi;
};

std::vector<TapRange> tapRanges(int64_t outSize, int64_t size, int64_t K, int64_t stride, int64_t pad) {
  std::vector<TapRange> r(static_cast<size_t>(outSize));
  for (int64_t o = 0; o < outSize; o++) {
    int64_t origin = o * stride - pad;
    r[o] = {origin, std::max<int64_t>(0, -origin), std::min<int64_t>(K, size - origin)};
  }
  return r;
}

// Channels per chunk so that a chunk holds at least kSerialElems multiply-adds.
size_t channelGrain(const DepthwiseShape& s) {
  return std::max<size_t>(1, kSerialElems / static_cast<size_t>(std::max<int64_t>(1, s.N * s.OH * s.OW * s.K * s.K)));
}

// dst[p][l] = src[(n0 + l) stride + p] for p < plane, l < nb; zero lanes beyond nb.
void gather(const float* src, int64_t stride, int64_t plane, int64_t nb, float* dst) {
  std::fill(dst, dst + plane * L, 0.0f);
  for (int64_t l = 0; l < nb; l++)
    for (int64_t p = 0; p < plane; p++) dst[p * L + l] = src[l * stride + p];
}

// Images n0 .. n0 + nb of one channel as [Hp][Wp][L] with the input at (pad, pad) and zeros around
// it (and in lanes beyond nb): every tap of every output pixel then lands inside.
void gatherPadded(const float* src, int64_t stride, const DepthwiseShape& s, int64_t Hp, int64_t Wp, int64_t nb, float* dst) {
  std::fill(dst, dst + Hp * Wp * L, 0.0f);
  for (int64_t l = 0; l < nb; l++)
    for (int64_t h = 0; h < s.H; h++) {
      const float* row = src + l * stride + h * s.W;
      float* out = dst + ((h + s.pad) * Wp + s.pad) * L + l;
      for (int64_t w = 0; w < s.W; w++) out[w * L] = row[w];
    }
}

// acc[kh K + kw][l] += Σ_oh,ow dy[oh, ow][l] xp[oh s + kh][ow s + kw][l] for the NK taps kw0 ..
// kw0 + NK - 1 of row kh: one register accumulator per tap, dy loaded once for all of them.
template <int NK>
void padTapsScalar(const float* xp, const float* dyt, float* acc, const DepthwiseShape& s, int64_t Wp, int64_t kh, int64_t kw0) {
  float a[NK][L] = {};
  for (int64_t oh = 0; oh < s.OH; oh++)
    for (int64_t ow = 0; ow < s.OW; ow++) {
      const float* g = dyt + (oh * s.OW + ow) * L;
      const float* xr = xp + ((oh * s.stride + kh) * Wp + ow * s.stride + kw0) * L;
      for (int j = 0; j < NK; j++)
        for (int l = 0; l < L; l++) a[j][l] += g[l] * xr[j * L + l];
    }
  for (int j = 0; j < NK; j++)
    for (int l = 0; l < L; l++) acc[(kh * s.K + kw0 + j) * L + l] += a[j][l];
}

#if defined(__x86_64__) && defined(__GNUC__)
#define WGNAS_DW_AVX512 1
template <int NK>
__attribute__((target("avx512f"))) void padTapsAvx512(const float* xp, const float* dyt, float* acc, const DepthwiseShape& s, int64_t Wp,
                                                      int64_t kh, int64_t kw0) {
  __m512 a[NK];
  for (int j = 0; j < NK; j++) a[j] = _mm512_setzero_ps();
  for (int64_t oh = 0; oh < s.OH; oh++) {
    const float* g = dyt + oh * s.OW * L;
    const float* xr = xp + ((oh * s.stride + kh) * Wp + kw0) * L;
    for (int64_t ow = 0; ow < s.OW; ow++) {
      const __m512 gv = _mm512_loadu_ps(g + ow * L);
      const float* xq = xr + ow * s.stride * L;
      for (int j = 0; j < NK; j++) a[j] = _mm512_fmadd_ps(gv, _mm512_loadu_ps(xq + j * L), a[j]);
    }
  }
  for (int j = 0; j < NK; j++) {
    float* out = acc + (kh * s.K + kw0 + j) * L;
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), a[j]));
  }
}

bool haveAvx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}
#endif

template <int NK>
void padTaps(const float* xp, const float* dyt, float* acc, const DepthwiseShape& s, int64_t Wp, int64_t kh, int64_t kw0) {
#ifdef WGNAS_DW_AVX512
  if (haveAvx512()) return padTapsAvx512<NK>(xp, dyt, acc, s, Wp, kh, kw0);
#endif
  padTapsScalar<NK>(xp, dyt, acc, s, Wp, kh, kw0);
}

void padTapsN(int nk, const float* xp, const float* dyt, float* acc, const DepthwiseShape& s, int64_t Wp, int64_t kh, int64_t kw0) {
  switch (nk) {
    case 1: return padTaps<1>(xp, dyt, acc, s, Wp, kh, kw0);
    case 2: return padTaps<2>(xp, dyt, acc, s, Wp, kh, kw0);
    case 3: return padTaps<3>(xp, dyt, acc, s, Wp, kh, kw0);
    case 4: return padTaps<4>(xp, dyt, acc, s, Wp, kh, kw0);
    case 5: return padTaps<5>(xp, dyt, acc, s, Wp, kh, kw0);
    case 6: return padTaps<6>(xp, dyt, acc, s, Wp, kh, kw0);
    case 7: return padTaps<7>(xp, dyt, acc, s, Wp, kh, kw0);
    default: return padTaps<8>(xp, dyt, acc, s, Wp, kh, kw0);
  }
}

}  // namespace

WGNAS_CLONES void depthwiseSmallForwardChannels(const DepthwiseShape& s, const float* x, const float* w, float* y, size_t c0,
                                                size_t c1, const TapRange* rows, const TapRange* cols, float* xt, float* yt) {
  const int64_t HW = s.H * s.W, OHW = s.OH * s.OW;
  for (size_t c = c0; c < c1; c++) {
    const float* wc = w + c * s.K * s.K;
    for (int64_t n0 = 0; n0 < s.N; n0 += L) {
      const int64_t nb = std::min<int64_t>(L, s.N - n0);
      gather(x + (n0 * s.C + c) * HW, s.C * HW, HW, nb, xt);
      for (int64_t oh = 0; oh < s.OH; oh++) {
        const TapRange& r = rows[oh];
        for (int64_t ow = 0; ow < s.OW; ow++) {
          const TapRange& q = cols[ow];
          float acc[L] = {};
          for (int64_t kh = r.lo; kh < r.hi; kh++) {
            for (int64_t kw = q.lo; kw < q.hi; kw++) {
              const float wv = wc[kh * s.K + kw];
              const float* xp = xt + ((r.origin + kh) * s.W + q.origin + kw) * L;
#pragma omp simd
              for (int l = 0; l < L; l++) acc[l] += wv * xp[l];
            }
          }
          std::copy(acc, acc + L, yt + (oh * s.OW + ow) * L);
        }
      }
      float* yc = y + (n0 * s.C + c) * OHW;
      for (int64_t l = 0; l < nb; l++)
        for (int64_t p = 0; p < OHW; p++) yc[l * s.C * OHW + p] = yt[p * L + l];
    }
  }
}

WGNAS_CLONES void depthwiseSmallBackwardWeightsChannels(const DepthwiseShape& s, const float* x, const float* dy, float* dw,
                                                        size_t c0, size_t c1, const TapRange* rows, const TapRange* cols,
                                                        float* xt, float* dyt, float* acc) {
  const int64_t HW = s.H * s.W, OHW = s.OH * s.OW, KK = s.K * s.K;
  for (size_t c = c0; c < c1; c++) {
    // acc[tap][l]: per-lane partial sums of one tap (f32 over the images of a lane, added in double below).
    std::fill(acc, acc + KK * L, 0.0f);
    for (int64_t n0 = 0; n0 < s.N; n0 += L) {
      const int64_t nb = std::min<int64_t>(L, s.N - n0);
      gather(x + (n0 * s.C + c) * HW, s.C * HW, HW, nb, xt);
      gather(dy + (n0 * s.C + c) * OHW, s.C * OHW, OHW, nb, dyt);
      for (int64_t oh = 0; oh < s.OH; oh++) {
        const TapRange& r = rows[oh];
        for (int64_t ow = 0; ow < s.OW; ow++) {
          const TapRange& q = cols[ow];
          const float* gp = dyt + (oh * s.OW + ow) * L;
          for (int64_t kh = r.lo; kh < r.hi; kh++) {
            for (int64_t kw = q.lo; kw < q.hi; kw++) {
              const float* xp = xt + ((r.origin + kh) * s.W + q.origin + kw) * L;
              float* ap = acc + (kh * s.K + kw) * L;
#pragma omp simd
              for (int l = 0; l < L; l++) ap[l] += gp[l] * xp[l];
            }
          }
        }
      }
    }
    float* out = dw + c * KK;
    for (int64_t k = 0; k < KK; k++) {
      double t = 0;
      for (int l = 0; l < L; l++) t += acc[k * L + l];
      out[k] = static_cast<float>(t);
    }
  }
}

void depthwiseSmallForward(int threads, const DepthwiseShape& s, const float* x, const float* w, float* y) {
  const auto rows = tapRanges(s.OH, s.H, s.K, s.stride, s.pad);
  const auto cols = tapRanges(s.OW, s.W, s.K, s.stride, s.pad);
  parallelRange(threads, static_cast<size_t>(s.C), channelGrain(s), [&](size_t lo, size_t hi) {
    std::vector<float> xt(static_cast<size_t>(s.H * s.W * L)), yt(static_cast<size_t>(s.OH * s.OW * L));
    depthwiseSmallForwardChannels(s, x, w, y, lo, hi, rows.data(), cols.data(), xt.data(), yt.data());
  });
}

void depthwiseSmallBackwardWeights(int threads, const DepthwiseShape& s, const float* x, const float* dy, float* dw) {
  const auto rows = tapRanges(s.OH, s.H, s.K, s.stride, s.pad);
  const auto cols = tapRanges(s.OW, s.W, s.K, s.stride, s.pad);
  parallelRange(threads, static_cast<size_t>(s.C), channelGrain(s), [&](size_t lo, size_t hi) {
    std::vector<float> xt(static_cast<size_t>(s.H * s.W * L)), dyt(static_cast<size_t>(s.OH * s.OW * L));
    std::vector<float> acc(static_cast<size_t>(s.K * s.K * L));
    depthwiseSmallBackwardWeightsChannels(s, x, dy, dw, lo, hi, rows.data(), cols.data(), xt.data(), dyt.data(), acc.data());
  });
}

void depthwisePaddedBackwardWeights(int threads, const DepthwiseShape& s, const float* x, const float* dy, float* dw) {
  const int64_t Hp = std::max(s.H + 2 * s.pad, (s.OH - 1) * s.stride + s.K);
  const int64_t Wp = std::max(s.W + 2 * s.pad, (s.OW - 1) * s.stride + s.K);
  const int64_t HW = s.H * s.W, OHW = s.OH * s.OW, KK = s.K * s.K;
  parallelRange(threads, static_cast<size_t>(s.C), channelGrain(s), [&](size_t lo, size_t hi) {
    std::vector<float> xp(static_cast<size_t>(Hp * Wp * L)), dyt(static_cast<size_t>(OHW * L)), acc(static_cast<size_t>(KK * L));
    for (size_t c = lo; c < hi; c++) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t n0 = 0; n0 < s.N; n0 += L) {
        const int64_t nb = std::min<int64_t>(L, s.N - n0);
        gatherPadded(x + (n0 * s.C + static_cast<int64_t>(c)) * HW, s.C * HW, s, Hp, Wp, nb, xp.data());
        gather(dy + (n0 * s.C + static_cast<int64_t>(c)) * OHW, s.C * OHW, OHW, nb, dyt.data());
        for (int64_t kh = 0; kh < s.K; kh++)
          for (int64_t kw0 = 0; kw0 < s.K; kw0 += 8)
            padTapsN(static_cast<int>(std::min<int64_t>(8, s.K - kw0)), xp.data(), dyt.data(), acc.data(), s, Wp, kh, kw0);
      }
      float* out = dw + c * KK;
      for (int64_t k = 0; k < KK; k++) {
        double t = 0;
        for (int l = 0; l < L; l++) t += acc[k * L + l];
        out[k] = static_cast<float>(t);
      }
    }
  });
}

}  // namespace wgnas::compute
