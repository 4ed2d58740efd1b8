#include "depthwise_small.hpp"

#include <algorithm>
#include <vector>

#include "parallel.hpp"

namespace wgnas::compute {
namespace {

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

// Planes (n, c) per chunk so that a chunk holds at least kSerialElems multiply-adds.
size_t planeGrain(const DepthwiseShape& s) {
  return std::max<size_t>(1, kSerialElems / static_cast<size_t>(std::max<int64_t>(1, s.OH * s.OW * s.K * s.K)));
}

}  // namespace

void depthwiseSmallForward(int threads, const DepthwiseShape& s, const float* x, const float* w, float* y) {
  const auto rows = tapRanges(s.OH, s.H, s.K, s.stride, s.pad);
  const auto cols = tapRanges(s.OW, s.W, s.K, s.stride, s.pad);
  parallelRange(threads, static_cast<size_t>(s.N * s.C), planeGrain(s), [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; plane++) {
      const float* xp = x + plane * s.H * s.W;
      const float* wc = w + (plane % s.C) * s.K * s.K;
      float* yp = y + plane * s.OH * s.OW;
      for (const TapRange& r : rows) {
        for (const TapRange& c : cols) {
          float acc = 0;
          for (int64_t kh = r.lo; kh < r.hi; kh++) {
            const float* xr = xp + (r.origin + kh) * s.W + c.origin;
            const float* wr = wc + kh * s.K;
            for (int64_t kw = c.lo; kw < c.hi; kw++) acc += xr[kw] * wr[kw];
          }
          *yp++ = acc;
        }
      }
    }
  });
}

void depthwiseSmallBackwardWeights(int threads, const DepthwiseShape& s, const float* x, const float* dy, float* dw) {
  const auto rows = tapRanges(s.OH, s.H, s.K, s.stride, s.pad);
  const auto cols = tapRanges(s.OW, s.W, s.K, s.stride, s.pad);
  size_t grain = std::max<size_t>(1, planeGrain(s) / static_cast<size_t>(std::max<int64_t>(1, s.N)));
  parallelRange(threads, static_cast<size_t>(s.C), grain, [&](size_t lo, size_t hi) {
    std::vector<double> acc(static_cast<size_t>(s.K * s.K));
    for (size_t ch = lo; ch < hi; ch++) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < s.N; n++) {
        const float* xp = x + (n * s.C + ch) * s.H * s.W;
        const float* dp = dy + (n * s.C + ch) * s.OH * s.OW;
        for (const TapRange& r : rows) {
          for (const TapRange& c : cols) {
            const double g = *dp++;
            for (int64_t kh = r.lo; kh < r.hi; kh++) {
              const float* xr = xp + (r.origin + kh) * s.W + c.origin;
              double* ar = acc.data() + kh * s.K;
              for (int64_t kw = c.lo; kw < c.hi; kw++) ar[kw] += g * xr[kw];
            }
          }
        }
      }
      float* out = dw + ch * s.K * s.K;
      for (int64_t k = 0; k < s.K * s.K; k++) out[k] = static_cast<float>(acc[k]);
    }
  });
}

}  // namespace wgnas::compute
