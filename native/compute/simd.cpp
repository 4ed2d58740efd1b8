#include "simd.hpp"

#include <algorithm>
#include <cmath>

namespace wgnas::compute {

WGNAS_CLONES double sumF(const float* p, size_t n) {
  return blockedSum(n, [p](size_t i) { return p[i]; });
}
WGNAS_CLONES double sumSqDevF(const float* p, size_t n, float m) {
  return blockedSum(n, [p, m](size_t i) { return (p[i] - m) * (p[i] - m); });
}
WGNAS_CLONES void sumSqDevAndSqF(const float* p, size_t n, float m, double* dev, double* sq) {
  blockedSum2(n, [p, m](size_t i) { return (p[i] - m) * (p[i] - m); }, [p](size_t i) { return p[i] * p[i]; }, dev, sq);
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

// Cloned (the sums inline into each ISA's copy), and over chunkSum's four vector chains: with
// sumF's single chain the row statistics were latency-bound, ~4% of a WRCor cell.
WGNAS_CLONES void rowNormalizer(const float* p, size_t n, float* mean, float* scale) {
  double sum = 0, css = 0, rss = 0;
  for (size_t lo = 0; lo < n; lo += kSumChunk) {
    const float* q = p + lo;
    sum += chunkSum(std::min(kSumChunk, n - lo), [q](size_t i) { return q[i]; });
  }
  const float m = static_cast<float>(sum / static_cast<double>(n));
  for (size_t lo = 0; lo < n; lo += kSumChunk) {
    const float* q = p + lo;
    double a, b;
    chunkSum2(std::min(kSumChunk, n - lo), [q, m](size_t i) { return (q[i] - m) * (q[i] - m); },
              [q](size_t i) { return q[i] * q[i]; }, &a, &b);
    css += a;
    rss += b;
  }
  *mean = m;
  *scale = css > 1e-10 * rss && css > 0 ? static_cast<float>(1.0 / std::sqrt(css)) : 0.0f;
}

}  // namespace wgnas::compute
