#include "relayout16.hpp"

#include <immintrin.h>

#include <algorithm>

#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {

namespace {

// One (image, channel block): the cc <= 16 channel planes of HW floats at p (NCHW) <-> HW rows of
// 16 at q; a partial block's lanes past cc are written as zeros (oneDNN's padded channels).
void planeToBlockedScalar(const float* p, float* q, int64_t HW, int64_t lo, bool relu, int64_t cc) {
  for (int64_t hw = lo; hw < HW; hw++)
    for (int64_t c = 0; c < 16; c++) {
      float v = c < cc ? p[c * HW + hw] : 0.0f;
      q[hw * 16 + c] = relu ? std::max(v, 0.0f) : v;
    }
}

void planeFromBlockedScalar(const float* q, float* p, const float* m, int64_t HW, int64_t lo, int64_t cc) {
  for (int64_t hw = lo; hw < HW; hw++)
    for (int64_t c = 0; c < cc; c++) {
      float v = q[hw * 16 + c];
      p[c * HW + hw] = !m || m[c * HW + hw] > 0 ? v : 0.0f;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define WGNAS_RELAYOUT_AVX512 1
// GCC 12 flags the intrinsics' own _mm*_undefined_* placeholders (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// r[i][j] <- r[j][i] for 16 registers of 16 floats.
__attribute__((target("avx512f"))) inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4 g + k], 128-bit lane L: column 4 L + k of rows 4 g .. 4 g + 3.
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
    u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
    u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
  // Column 4 L + k: lane L of u[k], u[4 + k], u[8 + k], u[12 + k].
  for (int k = 0; k < 4; k++) {
    __m512 even = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88), odd = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
    __m512 even2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88), odd2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    r[k] = _mm512_shuffle_f32x4(even, even2, 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(even, even2, 0xDD);
    r[4 + k] = _mm512_shuffle_f32x4(odd, odd2, 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(odd, odd2, 0xDD);
  }
}

// max(0, v) keeps std::max(v, 0)'s answers: v for NaN and -0 (the second operand wins those).
__attribute__((target("avx512f"))) void planeToBlockedAvx512(const float* p, float* q, int64_t HW, bool relu, int64_t cc) {
  const __m512 zero = _mm512_setzero_ps();
  int64_t h0 = 0;
  for (; h0 + 16 <= HW; h0 += 16) {
    __m512 r[16];
    for (int c = 0; c < 16; c++) {
      r[c] = c < cc ? _mm512_loadu_ps(p + c * HW + h0) : zero;
      if (relu) r[c] = _mm512_max_ps(zero, r[c]);
    }
    transpose16(r);
    for (int j = 0; j < 16; j++) _mm512_storeu_ps(q + (h0 + j) * 16, r[j]);
  }
  planeToBlockedScalar(p, q, HW, h0, relu, cc);
}

__attribute__((target("avx512f"))) void planeFromBlockedAvx512(const float* q, float* p, const float* m, int64_t HW, int64_t cc) {
  const __m512 zero = _mm512_setzero_ps();
  int64_t h0 = 0;
  for (; h0 + 16 <= HW; h0 += 16) {
    __m512 r[16];
    for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(q + (h0 + j) * 16);
    transpose16(r);
    for (int c = 0; c < cc; c++) {
      __m512 v = r[c];
      // m > 0 (ordered: a NaN mask entry zeroes, as `m > 0 ? v : 0` does).
      if (m) v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(m + c * HW + h0), zero, _CMP_GT_OQ), v);
      _mm512_storeu_ps(p + c * HW + h0, v);
    }
  }
  planeFromBlockedScalar(q, p, m, HW, h0, cc);
}
#pragma GCC diagnostic pop
#endif

bool haveAvx512() {
#ifdef WGNAS_RELAYOUT_AVX512
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
#else
  return false;
#endif
}

// A plane of 16 channels is 16 HW floats: enough per chunk for a thread to be worth waking.
size_t planeGrain(int64_t HW) { return std::max<size_t>(1, kSerialElems / static_cast<size_t>(16 * HW)); }

// Every (image n, 16-channel block cb) plane in parallel: fn(b, planar offset of the block, channels
// in it); block b sits at b 16 HW in the blocked layout ((n nb + cb) 16 HW).
template <typename F>
void forEachBlock(int threads, int64_t N, int64_t C, int64_t HW, F fn) {
  const int64_t nb = (C + 15) / 16;
  parallelRange(threads, static_cast<size_t>(N * nb), planeGrain(HW), [&](size_t lo, size_t hi) {
    for (size_t b = lo; b < hi; b++) {
      const int64_t n = static_cast<int64_t>(b) / nb, cb = static_cast<int64_t>(b) % nb;
      fn(b, (n * C + 16 * cb) * HW, std::min<int64_t>(16, C - 16 * cb));
    }
  });
}

}  // namespace

void toBlocked16(int threads, const float* x, float* y, int64_t N, int64_t C, int64_t HW, bool relu) {
  const bool avx = haveAvx512();
  forEachBlock(threads, N, C, HW, [&](size_t b, int64_t planar, int64_t cc) {
    const float* p = x + planar;
    float* q = y + b * 16 * HW;
#ifdef WGNAS_RELAYOUT_AVX512
    if (avx) {
      planeToBlockedAvx512(p, q, HW, relu, cc);
      return;
    }
#endif
    planeToBlockedScalar(p, q, HW, 0, relu, cc);
  });
  (void)avx;
}

void fromBlocked16(int threads, const float* x, float* y, const float* mask, int64_t N, int64_t C, int64_t HW) {
  const bool avx = haveAvx512();
  forEachBlock(threads, N, C, HW, [&](size_t b, int64_t planar, int64_t cc) {
    const float* q = x + b * 16 * HW;
    float* p = y + planar;
    const float* m = mask ? mask + planar : nullptr;
#ifdef WGNAS_RELAYOUT_AVX512
    if (avx) {
      planeFromBlockedAvx512(q, p, m, HW, cc);
      return;
    }
#endif
    planeFromBlockedScalar(q, p, m, HW, 0, cc);
  });
  (void)avx;
}

WGNAS_CLONES void reluSpan(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = std::max(x[i], 0.0f);
}

WGNAS_CLONES void maskSpan(float* y, const float* m, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = m[i] > 0 ? y[i] : 0.0f;
}

void reluInto(int threads, const float* x, float* y, size_t n) {
  parallelElems(threads, n, [&](size_t lo, size_t hi) { reluSpan(x + lo, y + lo, hi - lo); });
}

void maskInPlace(int threads, float* y, const float* mask, size_t n) {
  parallelElems(threads, n, [&](size_t lo, size_t hi) { maskSpan(y + lo, mask + lo, hi - lo); });
}

}  // namespace wgnas::compute
