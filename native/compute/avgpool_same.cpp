#include "avgpool_same.hpp"

#include <algorithm>
#include <vector>

#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {

namespace {

// Per plane position i = h W + w: the reciprocal window counts along each axis, as ops_reduce.cpp's
// invCounts, and for each tap j (offset j - pad) whether column w + j - pad lies in the row.
struct SamePlan {
  std::vector<float> invH, invW;  // [HW]: 1 / count along H at row h, along W at column w
  std::vector<int32_t> colOk;     // [k][HW]
};

SamePlan plan(const SamePool& s) {
  const int64_t HW = s.H * s.W;
  SamePlan p;
  p.invH.resize(static_cast<size_t>(HW));
  p.invW.resize(static_cast<size_t>(HW));
  p.colOk.resize(static_cast<size_t>(s.k * HW));
  auto inv = [&](int64_t o, int64_t size) {
    int64_t start = o - s.pad, lo = std::max<int64_t>(start, 0), ePad = std::min(start + s.k, size + s.pad);
    int64_t hi = std::min(ePad, size);
    return 1.0f / static_cast<float>(s.includePad ? ePad - start : hi - lo);
  };
  for (int64_t h = 0; h < s.H; h++)
    for (int64_t w = 0; w < s.W; w++) {
      const size_t i = static_cast<size_t>(h * s.W + w);
      p.invH[i] = inv(h, s.H);
      p.invW[i] = inv(w, s.W);
      for (int64_t j = 0; j < s.k; j++) {
        const int64_t c = w + j - s.pad;
        p.colOk[static_cast<size_t>(j * HW) + i] = c >= 0 && c < s.W;
      }
    }
  return p;
}

}  // namespace

// out = the k x k box sums of one plane `in` (taps in order: columns, then rows, as ops_reduce.cpp's
// boxSum and row sums), through the row-sum scratch `hs`; with a and b, out = sums * (a b). Outside
// the anonymous namespace so that its ISA clones get external names (target_clones needs them).
WGNAS_CLONES void samePoolBoxSums(const SamePool& s, const int32_t* colOk, const float* in, float* hs, float* out, const float* a,
                                  const float* b) {
  const int64_t HW = s.H * s.W;
  std::fill(hs, hs + HW, 0.0f);
  for (int64_t j = 0; j < s.k; j++) {
    const int64_t off = j - s.pad, lo = std::max<int64_t>(0, -off), hi = std::min(HW, HW - off);
    const int32_t* ok = colOk + j * HW;
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
      float v = in[i + off];
      hs[i] += ok[i] ? v : 0.0f;
    }
  }
  std::fill(out, out + HW, 0.0f);
  for (int64_t j = 0; j < s.k; j++) {
    const int64_t off = (j - s.pad) * s.W, lo = std::max<int64_t>(0, -off), hi = std::min(HW, HW - off);
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) out[i] += hs[i + off];
  }
  if (a) {
#pragma omp simd
    for (int64_t i = 0; i < HW; i++) out[i] *= a[i] * b[i];
  }
}

// The same for k = 3 (NAS-Bench-201's pool) in one pass per direction: each sum written as
// ((0 + t0) + t1) + t2 with a tap outside the plane as +0, the additions of the loops above. The
// plane's first and last element (row) take their taps from inside the plane only.
WGNAS_CLONES void samePoolBoxSums3(const SamePool& s, const int32_t* colOk, const float* in, float* hs, float* out, const float* a,
                                   const float* b) {
  const int64_t HW = s.H * s.W, W = s.W;
  const int32_t* okL = colOk;
  const int32_t* okR = colOk + 2 * HW;
  auto rowSum = [&](int64_t i) {
    float t = 0.0f;
    t += i > 0 && okL[i] ? in[i - 1] : 0.0f;
    t += in[i];
    return t + (i + 1 < HW && okR[i] ? in[i + 1] : 0.0f);
  };
  hs[0] = rowSum(0);
  if (HW > 1) hs[HW - 1] = rowSum(HW - 1);
#pragma omp simd
  for (int64_t i = 1; i < HW - 1; i++) {
    float l = in[i - 1], r = in[i + 1];
    float t = 0.0f;
    t += okL[i] ? l : 0.0f;
    t += in[i];
    hs[i] = t + (okR[i] ? r : 0.0f);
  }
  auto edgeRow = [&](int64_t h) {
    for (int64_t i = h * W; i < (h + 1) * W; i++) {
      float t = 0.0f;
      if (h > 0) t += hs[i - W];
      t += hs[i];
      if (h + 1 < s.H) t += hs[i + W];
      out[i] = a ? t * (a[i] * b[i]) : t;
    }
  };
  edgeRow(0);
  if (s.H > 1) edgeRow(s.H - 1);
  if (a) {
#pragma omp simd
    for (int64_t i = W; i < HW - W; i++) {
      float t = 0.0f;
      t += hs[i - W];
      t += hs[i];
      t += hs[i + W];
      out[i] = t * (a[i] * b[i]);
    }
  } else {
#pragma omp simd
    for (int64_t i = W; i < HW - W; i++) {
      float t = 0.0f;
      t += hs[i - W];
      t += hs[i];
      out[i] = t + hs[i + W];
    }
  }
}

WGNAS_CLONES void samePoolGradIn(const float* dy, const float* a, const float* b, float* g, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) g[i] = dy[i] * a[i] * b[i];
}

namespace {

void boxSums(const SamePool& s, const int32_t* colOk, const float* in, float* hs, float* out, const float* a, const float* b) {
  if (s.k == 3) return samePoolBoxSums3(s, colOk, in, hs, out, a, b);
  samePoolBoxSums(s, colOk, in, hs, out, a, b);
}

template <typename F>
void forEachPlane(int threads, const SamePool& s, F fn) {
  const int64_t HW = s.H * s.W;
  size_t grain = std::max<size_t>(1, kSerialElems / static_cast<size_t>(HW));
  parallelRange(threads, static_cast<size_t>(s.planes), grain, [&](size_t lo, size_t hi) {
    std::vector<float> scratch(static_cast<size_t>(2 * HW));
    for (size_t pl = lo; pl < hi; pl++) fn(static_cast<int64_t>(pl) * HW, scratch.data(), scratch.data() + HW);
  });
}

}  // namespace

void avgPoolSameForward(int threads, const SamePool& s, const float* x, float* y) {
  const SamePlan p = plan(s);
  forEachPlane(threads, s, [&](int64_t o, float* hs, float*) {
    boxSums(s, p.colOk.data(), x + o, hs, y + o, p.invH.data(), p.invW.data());  // times invH invW, the product first
  });
}

void avgPoolSameBackward(int threads, const SamePool& s, const float* dy, float* dx) {
  const SamePlan p = plan(s);
  const int64_t HW = s.H * s.W;
  forEachPlane(threads, s, [&](int64_t o, float* hs, float* g) {
    samePoolGradIn(dy + o, p.invH.data(), p.invW.data(), g, HW);  // (dy invH) invW
    boxSums(s, p.colOk.data(), g, hs, dx + o, nullptr, nullptr);  // the windows are symmetric
  });
}

}  // namespace wgnas::compute
