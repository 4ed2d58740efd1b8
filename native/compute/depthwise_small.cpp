#include "depthwise_small.hpp"

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

}  // namespace wgnas::compute
