#include "simd.hpp"

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

void rowNormalizer(const float* p, size_t n, float* mean, float* scale) {
  float m = static_cast<float>(sumF(p, n) / static_cast<double>(n));
  double css, rss;
  sumSqDevAndSqF(p, n, m, &css, &rss);
  *mean = m;
  *scale = css > 1e-10 * rss && css > 0 ? static_cast<float>(1.0 / std::sqrt(css)) : 0.0f;
}

}  // namespace wgnas::compute
