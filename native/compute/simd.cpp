#include "simd.hpp"

#include <cmath>

namespace wgnas::compute {
namespace {

// Σ term(i) for i in [0, n): f32 partial sums over kSumBlock elements, added in double.
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

}  // namespace

WGNAS_CLONES double sumF(const float* p, size_t n) {
  return blockedSum(n, [p](size_t i) { return p[i]; });
}
WGNAS_CLONES double sumSqDevF(const float* p, size_t n, float m) {
  return blockedSum(n, [p, m](size_t i) { return (p[i] - m) * (p[i] - m); });
}
WGNAS_CLONES void sumSqDevAndSqF(const float* p, size_t n, float m, double* dev, double* sq) {
  double d = 0, q = 0;
  for (size_t lo = 0; lo < n; lo += kSumBlock) {
    size_t hi = lo + kSumBlock < n ? lo + kSumBlock : n;
    float accD = 0, accQ = 0;
#pragma omp simd reduction(+ : accD, accQ)
    for (size_t i = lo; i < hi; i++) {
      accD += (p[i] - m) * (p[i] - m);
      accQ += p[i] * p[i];
    }
    d += accD;
    q += accQ;
  }
  *dev = d;
  *sq = q;
}
WGNAS_CLONES double dotF(const float* a, const float* b, size_t n) {
  return blockedSum(n, [a, b](size_t i) { return a[i] * b[i]; });
}
WGNAS_CLONES double dotDevF(const float* a, const float* b, size_t n, float m) {
  return blockedSum(n, [a, b, m](size_t i) { return a[i] * (b[i] - m); });
}
WGNAS_CLONES double sumSqF(const float* p, size_t n) {
  return blockedSum(n, [p](size_t i) { return p[i] * p[i]; });
}
WGNAS_CLONES double sumAbsProdF(const float* a, const float* b, size_t n) {
  return blockedSum(n, [a, b](size_t i) { return std::fabs(a[i] * b[i]); });
}

}  // namespace wgnas::compute
