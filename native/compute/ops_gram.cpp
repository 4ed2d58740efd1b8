// gramRows: out[b] = X_b X_b^T for X_b = x[b] ([N, D] row-major), the correlation proxies' batched
// Gram products of normalised rows (64 x 64 outputs over D = 4096-16384 in WRCor). oneDNN's matmul
// computes the whole square; this kernel computes the upper triangle in 4 x 4 blocks of dot
// products (10 of 16 blocks at N = 64) and mirrors it, so the result is exactly symmetric. Each
// K-panel of all rows is copied into an L1-sized buffer first (zero rows and columns pad N to a
// multiple of 4 and the panel to whole vectors), which also frees the inner loop of edge cases.
// Measured on WRCor's shapes, one thread of an AVX-512 core: ~1.4x faster than oneDNN's brgemm
// matmul, which runs near the core's peak on the full square.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "op.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {

namespace {

constexpr int64_t kVec = 16;          // floats per vector step (one AVX-512 register)
constexpr int64_t kL1Bytes = 32768;   // a panel of all rows stays within L1
constexpr int64_t kMinPanel = 64, kMaxPanel = 512;

struct GramShape {
  int64_t B, N, D;
};

GramShape readShape(const Params& p) { return {nonNegative(p, "B"), nonNegative(p, "N"), nonNegative(p, "D")}; }

// The panel length: a whole number of vectors, all Np rows within kL1Bytes where that leaves at
// least kMinPanel floats (short panels pay the block reductions more often).
int64_t panelFor(int64_t Np, int64_t D) {
  int64_t kc = kL1Bytes / (4 * Np) / kVec * kVec;
  kc = std::clamp<int64_t>(kc, kMinPanel, kMaxPanel);
  int64_t dv = (D + kVec - 1) / kVec * kVec;
  return std::min(kc, dv);
}

// Each row's (mean, scale): the kernels then take (x - mean) * scale, normalizeRows' values.
struct RowNorm {
  const float* mean;
  const float* scale;
};

// Copies columns [k0, k0 + kl) of the N rows into buf (row stride ld, zero tail up to kp),
// normalised on the way where `norm` has the rows' statistics.
inline void pack(const float* x, int64_t N, int64_t D, int64_t k0, int64_t kl, int64_t kp, float* buf, int64_t ld,
                 const RowNorm* norm) {
  for (int64_t r = 0; r < N; r++) {
    float* dst = buf + r * ld;
    const float* src = x + r * D + k0;
    if (norm) {
      const float m = norm->mean[r], sc = norm->scale[r];
      for (int64_t k = 0; k < kl; k++) dst[k] = (src[k] - m) * sc;
    } else {
      std::memcpy(dst, src, static_cast<size_t>(kl) * sizeof(float));
    }
    std::fill(dst + kl, dst + kp, 0.0f);
  }
}

// The blocks' sums: sums[(bi * nb + bj) * 16 + lane] for bj >= bi, lane a * 4 + b = entry
// (4 bi + a, 4 bj + b). Added to in double, one f32 panel partial at a time.
void writeOut(const std::vector<double>& sums, int64_t nb, int64_t N, float* out) {
  for (int64_t bi = 0; bi < nb; bi++)
    for (int64_t bj = bi; bj < nb; bj++)
      for (int64_t lane = 0; lane < 16; lane++) {
        int64_t r = 4 * bi + lane / 4, c = 4 * bj + lane % 4;
        if (r >= N || c >= N) continue;
        float v = static_cast<float>(sums[static_cast<size_t>((bi * nb + bj) * 16 + lane)]);
        out[r * N + c] = v;
        out[c * N + r] = v;
      }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define WGNAS_GRAM_AVX512 1
// GCC 12 flags the intrinsics' own _mm*_undefined_* placeholders (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Lane i of the result = the sum of v[i]'s lanes (i = 4 a + b for the block's entry (a, b)).
__attribute__((target("avx512f"))) inline __m512 reduce16(const __m512 v[16]) {
  // Each level adds the two halves of every vector while interleaving pairs of vectors; the lane
  // order this leaves is undone by the fixed index permutation at the end.
  __m512 s8[8], s4[4], s2[2];
  for (int i = 0; i < 8; i++)
    s8[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[i], v[i + 8], 0x44), _mm512_shuffle_f32x4(v[i], v[i + 8], 0xEE));
  for (int i = 0; i < 4; i++)
    s4[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s8[i], s8[i + 4], 0x88), _mm512_shuffle_f32x4(s8[i], s8[i + 4], 0xDD));
  for (int i = 0; i < 2; i++)
    s2[i] = _mm512_add_ps(_mm512_shuffle_ps(s4[i], s4[i + 2], 0x44), _mm512_shuffle_ps(s4[i], s4[i + 2], 0xEE));
  __m512 r = _mm512_add_ps(_mm512_shuffle_ps(s2[0], s2[1], 0x88), _mm512_shuffle_ps(s2[0], s2[1], 0xDD));
  // r's lanes hold v[0], v[2], v[1], v[3], v[8], ...: this permutation (its own inverse) puts v[i] in lane i.
  const __m512i perm = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
  return _mm512_permutexvar_ps(perm, r);
}

// One layer: packs each panel and accumulates every upper 4 x 4 block's dot products.
__attribute__((target("avx512f"))) void gramLayerAvx512(const float* x, int64_t N, int64_t D, float* out,
                                                         std::vector<float>& buf, std::vector<double>& sums,
                                                         const RowNorm* norm) {
  const int64_t Np = (N + 3) / 4 * 4, nb = Np / 4, kc = panelFor(Np, D), ld = kc + kVec;
  buf.assign(static_cast<size_t>(Np * ld), 0.0f);  // the padding rows stay zero
  sums.assign(static_cast<size_t>(nb * nb * 16), 0.0);
  for (int64_t k0 = 0; k0 < D; k0 += kc) {
    const int64_t kl = std::min(kc, D - k0), kp = (kl + kVec - 1) / kVec * kVec;
    pack(x, N, D, k0, kl, kp, buf.data(), ld, norm);
    for (int64_t bi = 0; bi < nb; bi++) {
      const float* A = buf.data() + 4 * bi * ld;
      for (int64_t bj = bi; bj < nb; bj++) {
        const float* Bp = buf.data() + 4 * bj * ld;
        __m512 acc[16];
        for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
        for (int64_t k = 0; k < kp; k += kVec) {
          __m512 xa[4], xb[4];
          for (int a = 0; a < 4; a++) xa[a] = _mm512_loadu_ps(A + a * ld + k);
          for (int b = 0; b < 4; b++) xb[b] = _mm512_loadu_ps(Bp + b * ld + k);
          for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) acc[a * 4 + b] = _mm512_fmadd_ps(xa[a], xb[b], acc[a * 4 + b]);
        }
        __m512 s = reduce16(acc);
        double* o = sums.data() + (bi * nb + bj) * 16;
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(s));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
        _mm512_storeu_pd(o, _mm512_add_pd(_mm512_loadu_pd(o), lo));
        _mm512_storeu_pd(o + 8, _mm512_add_pd(_mm512_loadu_pd(o + 8), hi));
      }
    }
  }
  writeOut(sums, nb, N, out);
}
#pragma GCC diagnostic pop
#endif

}  // namespace

// The same blocks and panels without intrinsics (CPUs without AVX-512, and the tests' `portable`):
// lanes of 16 partial sums per entry, added in lane order. Outside the anonymous namespace so that
// its ISA clones get external names (target_clones needs them).
WGNAS_CLONES void gramLayerPortable(const float* x, int64_t N, int64_t D, float* out, std::vector<float>& buf,
                                    std::vector<double>& sums, const RowNorm* norm) {
  const int64_t Np = (N + 3) / 4 * 4, nb = Np / 4, kc = panelFor(Np, D), ld = kc + kVec;
  buf.assign(static_cast<size_t>(Np * ld), 0.0f);
  sums.assign(static_cast<size_t>(nb * nb * 16), 0.0);
  for (int64_t k0 = 0; k0 < D; k0 += kc) {
    const int64_t kl = std::min(kc, D - k0), kp = (kl + kVec - 1) / kVec * kVec;
    pack(x, N, D, k0, kl, kp, buf.data(), ld, norm);
    for (int64_t bi = 0; bi < nb; bi++)
      for (int64_t bj = bi; bj < nb; bj++) {
        float acc[16][kVec] = {};
        for (int64_t k = 0; k < kp; k += kVec)
          for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
              const float* pa = buf.data() + (4 * bi + a) * ld + k;
              const float* pb = buf.data() + (4 * bj + b) * ld + k;
#pragma omp simd
              for (int l = 0; l < kVec; l++) acc[a * 4 + b][l] += pa[l] * pb[l];
            }
        double* o = sums.data() + (bi * nb + bj) * 16;
        for (int e = 0; e < 16; e++) {
          float s = 0;
          for (int l = 0; l < kVec; l++) s += acc[e][l];
          o[e] += s;
        }
      }
  }
  writeOut(sums, nb, N, out);
}

namespace {

// One layer's Gram product (of its normalised rows where `norm` is given) on the kernel for this CPU.
void gramLayer(const float* x, int64_t N, int64_t D, float* out, std::vector<float>& buf, std::vector<double>& sums,
               const RowNorm* norm, bool portable) {
#ifdef WGNAS_GRAM_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512 && !portable) return gramLayerAvx512(x, N, D, out, buf, sums, norm);
#endif
  gramLayerPortable(x, N, D, out, buf, sums, norm);
}

void gramRows(Ctx& c) {
  GramShape s = readShape(c.p);
  if (s.B == 0 || s.N == 0) return;
  const float* x = c.ptr(0);
  float* out = c.ptr(1);
  if (s.D == 0) return std::fill(out, out + s.B * s.N * s.N, 0.0f);  // empty sums
  const bool portable = c.p.b("portable");
  parallelRange(c.threads(), static_cast<size_t>(s.B), 1, [&](size_t lo, size_t hi) {
    std::vector<float> buf;
    std::vector<double> sums;
    for (size_t b = lo; b < hi; b++) gramLayer(x + b * s.N * s.D, s.N, s.D, out + b * s.N * s.N, buf, sums, nullptr, portable);
  });
}

// correlationRows: out[l] = Z_l Z_l^T for Z_l the rows of x_l ([N, D], left as they are) centred and
// scaled as normalizeRows does, normalised while they are packed: the values normalizeRows then
// gramRows give on the rows copied into one arena, without the arena's copy and write-back.
void correlationRows(Ctx& c) {
  const int64_t N = nonNegative(c.p, "N"), D = positive(c.p, "D");
  const size_t L = c.t.size() - 1;
  float* out = c.ptr(0);
  const bool portable = c.p.b("portable");
  if (N == 0) return;
  parallelRange(c.threads(), L, 1, [&](size_t lo, size_t hi) {
    std::vector<float> buf, mean(static_cast<size_t>(N)), scale(static_cast<size_t>(N));
    std::vector<double> sums;
    for (size_t l = lo; l < hi; l++) {
      const float* x = c.ptr(l + 1);
      for (int64_t r = 0; r < N; r++) rowNormalizer(x + r * D, static_cast<size_t>(D), &mean[r], &scale[r]);
      RowNorm norm{mean.data(), scale.data()};
      gramLayer(x, N, D, out + l * N * N, buf, sums, &norm, portable);
    }
  });
}

}  // namespace

void registerGramOps(Registry& r) {
  // gramRows: [x, out]; x [B, N, D], out [B, N, N]. portable: the kernel without intrinsics.
  r["gramRows"] = {"gramRows", 2,
                   [](const Params& p, const std::vector<size_t>& n) {
                     GramShape s = readShape(p);
                     expectAtLeast(n, 0, elems({s.B, s.N, s.D}), "x");
                     expectAtLeast(n, 1, elems({s.B, s.N, s.N}), "out");
                   },
                   gramRows};
  // correlationRows: [out, x_0, ..., x_{L-1}]; each x_l [N, D], out [L, N, N].
  r["correlationRows"] = {"correlationRows", -1,
                          [](const Params& p, const std::vector<size_t>& n) {
                            const int64_t N = nonNegative(p, "N"), D = positive(p, "D");
                            if (n.size() < 2) throw OpError("expected out and at least one x");
                            expectAtLeast(n, 0, elems({static_cast<int64_t>(n.size() - 1), N, N}), "out");
                            for (size_t i = 1; i < n.size(); i++) expectAtLeast(n, i, elems({N, D}), "x");
                          },
                          correlationRows};
}

}  // namespace wgnas::compute
