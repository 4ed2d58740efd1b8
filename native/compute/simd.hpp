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
