// Runtime ISA dispatch for the hand-written loops: on x86-64 with GCC/Clang, WGNAS_CLONES compiles
// a function for AVX-512, AVX2 and the baseline, and the loader picks one for the CPU it runs on
// (ifunc), so the build stays portable without -march. Apply it to whole-array functions only
// (a clone is called through a pointer and not inlined).
#pragma once
#include <cstddef>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && !defined(WGNAS_NO_CLONES)
#define WGNAS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WGNAS_CLONES
#endif
// Forces a helper into its (cloned) caller: one that is not inlined is compiled once, for the
// baseline ISA, and a cloned loop calling it runs that code.
#if defined(__GNUC__)
#define WGNAS_INLINE inline __attribute__((always_inline))
#else
#define WGNAS_INLINE inline
#endif

namespace wgnas::compute {

// Block of float accumulation inside double sums: short enough that f32 partial sums stay exact
// to ~1e-7 relative, long enough to vectorise.
constexpr size_t kSumBlock = 256;

// Σ term(i) for i in [0, n): f32 partial sums over kSumBlock elements, added in double. Inline, so
// that it compiles for the ISA of the (cloned) function that calls it.
template <class Term>
inline double blockedSum(size_t n, Term term) {
  double total = 0;
  for (size_t lo = 0; lo < n; lo += kSumBlock) {
    size_t hi = lo + kSumBlock < n ? lo + kSumBlock : n;
    float acc = 0;
#pragma omp simd reduction(+ : acc)
    for (size_t i = lo; i < hi; i++) acc += term(i);
    total += acc;
  }
  return total;
}

// Two such sums in one pass: (Σ termA(i), Σ termB(i)).
template <class TermA, class TermB>
inline void blockedSum2(size_t n, TermA termA, TermB termB, double* sumA, double* sumB) {
  double ta = 0, tb = 0;
  for (size_t lo = 0; lo < n; lo += kSumBlock) {
    size_t hi = lo + kSumBlock < n ? lo + kSumBlock : n;
    float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (size_t i = lo; i < hi; i++) {
      a += termA(i);
      b += termB(i);
    }
    ta += a;
    tb += b;
  }
  *sumA = ta;
  *sumB = tb;
}

// Chunks of at most this many floats: chunkSum's lanes then hold at most 64 terms each.
constexpr size_t kSumChunk = 4096;

// Σ term(i) for a chunk (n <= kSumChunk): 64 f32 lanes (four independent vector chains: one
// chain, as blockedSum's loop is, runs at one vector add per FP latency), folded in f32 by halves,
// each lane holding at most kSumChunk / 64 terms. Inline, as blockedSum.
template <class Term>
WGNAS_INLINE double chunkSum(size_t n, Term term) {
  constexpr size_t L = 16, K = 4;
  float acc[K][L] = {};
  size_t i = 0;
  for (; i + K * L <= n; i += K * L)
    for (size_t k = 0; k < K; k++) {
#pragma omp simd
      for (size_t l = 0; l < L; l++) acc[k][l] += term(i + k * L + l);
    }
  float tail = 0;  // under 64 terms (a separate sum: indexing acc by a variable would keep it in memory)
  for (; i < n; i++) tail += term(i);
  float v[L];
#pragma omp simd
  for (size_t l = 0; l < L; l++) v[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
  for (size_t w = L / 2; w >= 1; w /= 2)
    for (size_t l = 0; l < w; l++) v[l] += v[l + w];
  return static_cast<double>(v[0]) + static_cast<double>(tail);
}

// Two such sums in one pass: (Σ termA(i), Σ termB(i)) for a chunk (n <= kSumChunk).
template <class TermA, class TermB>
WGNAS_INLINE void chunkSum2(size_t n, TermA termA, TermB termB, double* sumA, double* sumB) {
  constexpr size_t L = 16, K = 4;
  float a[K][L] = {}, b[K][L] = {};
  size_t i = 0;
  for (; i + K * L <= n; i += K * L)
    for (size_t k = 0; k < K; k++) {
#pragma omp simd
      for (size_t l = 0; l < L; l++) {
        a[k][l] += termA(i + k * L + l);
        b[k][l] += termB(i + k * L + l);
      }
    }
  float ta = 0, tb = 0;
  for (; i < n; i++) {
    ta += termA(i);
    tb += termB(i);
  }
  float va[L], vb[L];
#pragma omp simd
  for (size_t l = 0; l < L; l++) {
    va[l] = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]);
    vb[l] = (b[0][l] + b[1][l]) + (b[2][l] + b[3][l]);
  }
  for (size_t w = L / 2; w >= 1; w /= 2)
    for (size_t l = 0; l < w; l++) {
      va[l] += va[l + w];
      vb[l] += vb[l + w];
    }
  *sumA = static_cast<double>(va[0]) + static_cast<double>(ta);
  *sumB = static_cast<double>(vb[0]) + static_cast<double>(tb);
}

// Σ p[i] in double (f32 partials over short blocks). Defined with WGNAS_CLONES in simd.cpp (the
// declarations stay plain: other files call the dispatching symbol).
double sumF(const float* p, size_t n);
// Σ (p[i] - m)^2.
double sumSqDevF(const float* p, size_t n, float m);
// Σ (p[i] - m)^2 and Σ p[i]^2 in one pass.
void sumSqDevAndSqF(const float* p, size_t n, float m, double* dev, double* sq);
// Σ a[i] * b[i].
double dotF(const float* a, const float* b, size_t n);
// Σ a[i] * (b[i] - m).
double dotDevF(const float* a, const float* b, size_t n, float m);
// Σ p[i]^2.
double sumSqF(const float* p, size_t n);
// Σ |a[i] * b[i]|.
double sumAbsProdF(const float* a, const float* b, size_t n);

// A row's centring and unit-norm scale for the correlations: the row becomes (p[i] - *mean) * *scale
// (f32); a constant row gets scale 0 (a relative threshold, as correlation.wgsl: a constant row
// leaves only rounding noise in its centred sum of squares).
void rowNormalizer(const float* p, size_t n, float* mean, float* scale);

}  // namespace wgnas::compute
